import { corruptPayload, decodeKeyGroup, isBytesAndTime, isMapPayloadEntry } from '../heap/snapshot-codec.ts'
import type { KeyGroupRange } from '../key-groups.ts'
import { migrateKeyedStatePayload, type KeyedStateMigration } from '../serializer-compatibility.ts'
import type { KeyedStateSnapshot } from '../snapshot.ts'
import type { StateKind } from '../descriptors.ts'
import type { RowFormat } from './row-format.ts'
import { keyPart, lengthPrefixed, parseRowKey, rowKey, RowKeyParts, stateEnd, stateStart } from './row-key.ts'
import type { RocksDBInstance } from './rocksdb-instance.ts'
import { decodeElements, encodeElement, encodeMapValue, encodeValue, expiryOf, mapUserKeyBytes, mapValueBytes, valueBytes } from './value-codec.ts'

/** Where a snapshotted state's entries go, and how their bytes are migrated on the way (null: as they are). */
export interface RestoreTarget {
  format: RowFormat
  kind: StateKind
  migration: KeyedStateMigration | null
}

/** Writes go out in batches of this many rows while a restore or a rewrite runs. */
const WRITE_BATCH_ROWS = 4096

/**
 * Writes the key groups of `range` found in a snapshot as rows, `targets[i]` receiving the entries
 * of the snapshot's state `i`. The values are written as the snapshot holds them (serializer
 * bytes), without deserializing anything.
 */
export function restoreKeyGroups(db: RocksDBInstance, snapshot: KeyedStateSnapshot, range: KeyGroupRange, targets: readonly RestoreTarget[], now: number): void {
  for (const [keyGroup, bytes] of snapshot.keyGroups) {
    if (!range.contains(keyGroup)) continue
    for (const [stateIndex, entries] of decodeKeyGroup(bytes, keyGroup, targets.length)) {
      const { format, kind, migration } = targets[stateIndex]
      for (const [keyBytes, namespaceBytes, payload] of entries) {
        const namespace = migration?.namespace === undefined ? namespaceBytes : migration.namespace(namespaceBytes)
        const migrated = migration === null ? payload : migrateKeyedStatePayload(kind, payload, migration)
        writeEntry(db, format, keyPart(keyGroup, keyBytes, keyBytes.length), lengthPrefixed(namespace), migrated, now)
        if (db.pendingWrites >= WRITE_BATCH_ROWS) db.write()
      }
    }
  }
  db.write()
}

function writeEntry(db: RocksDBInstance, target: RowFormat, key: Buffer, namespace: Buffer, payload: unknown, now: number): void {
  switch (target.shape) {
    case 'single': {
      if (!isBytesAndTime(payload)) throw corruptPayload(target.name, '[valueBytes, expiresAt]')
      db.put(rowKey(target.stateId, key, namespace), encodeValue(payload[0], target.restoreExpiry(payload[1], now)))
      return
    }
    case 'list': {
      if (!Array.isArray(payload)) throw corruptPayload(target.name, 'a list of [elementBytes, expiresAt]')
      const elements: Buffer[] = []
      for (const item of payload as unknown[]) {
        if (!isBytesAndTime(item)) throw corruptPayload(target.name, 'a list of [elementBytes, expiresAt]')
        elements.push(encodeElement(item[0], target.restoreExpiry(item[1], now)))
      }
      if (elements.length > 0) db.put(rowKey(target.stateId, key, namespace), Buffer.concat(elements))
      return
    }
    case 'map': {
      if (!Array.isArray(payload)) throw corruptPayload(target.name, 'a list of [userKeyBytes, userValueBytes, expiresAt]')
      for (const item of payload as unknown[]) {
        if (!isMapPayloadEntry(item)) throw corruptPayload(target.name, 'a list of [userKeyBytes, userValueBytes, expiresAt]')
        db.put(rowKey(target.stateId, key, namespace, target.mapRowSuffix(item[0])), encodeMapValue(item[0], item[1], target.restoreExpiry(item[2], now)))
      }
      return
    }
  }
}

/**
 * Rewrites the rows of a state restored before it was bound, under a new state id: map rows get
 * their canonical user keys (they were keyed by the serialized user key, the key serializer being
 * unknown), and bytes written by an older serializer are migrated. The old rows then go with one
 * range deletion. A new id is used because an old row key may equal a new one.
 */
export function rewriteRows(db: RocksDBInstance, fromStateId: number, target: RowFormat, migration: KeyedStateMigration | null): void {
  const cursor = db.cursor(stateStart(fromStateId), stateEnd(fromStateId), { batchSize: 1024, fillCache: false })
  const parts = new RowKeyParts()
  const value = migration?.value
  const mapKey = migration?.mapKey
  const namespace = migration?.namespace
  try {
    while (cursor.next()) {
      const row = cursor.key
      let stored = cursor.value
      parseRowKey(row, parts)
      const key = row.subarray(2, parts.keyEnd)
      const namespacePart = namespace === undefined ? row.subarray(parts.keyEnd, parts.namespaceEnd) : lengthPrefixed(namespace(parts.namespace(row)))
      switch (target.shape) {
        case 'single':
          if (value !== undefined) stored = encodeValue(value(valueBytes(stored)), expiryOf(stored))
          db.put(rowKey(target.stateId, key, namespacePart), stored)
          break
        case 'list':
          if (value !== undefined) stored = Buffer.concat(decodeElements(stored).map((element) => encodeElement(value(element.bytes), element.expiresAt)))
          db.put(rowKey(target.stateId, key, namespacePart), stored)
          break
        case 'map': {
          const userKey = mapKey === undefined ? mapUserKeyBytes(stored) : mapKey(mapUserKeyBytes(stored))
          if (value !== undefined || mapKey !== undefined) stored = encodeMapValue(userKey, value === undefined ? mapValueBytes(stored) : value(mapValueBytes(stored)), expiryOf(stored))
          db.put(rowKey(target.stateId, key, namespacePart, target.mapRowSuffix(userKey)), stored)
          break
        }
      }
      if (db.pendingWrites >= WRITE_BATCH_ROWS) db.write()
    }
  } finally {
    cursor.close()
  }
  db.deleteRange(stateStart(fromStateId), stateEnd(fromStateId))
}
