import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { internalPackr } from '../../api/serialization/types.ts'
import { StateError } from '../../errors.ts'
import { serializeKey, type KeyIdentity } from '../key-serialization.ts'
import type { KeyEntry } from './state-table.ts'

/**
 * The encoding of `KeyedStateSnapshot` key groups (documented in snapshot.ts): a msgpack array of
 * `[stateIndex, entries]`, each entry `[keyBytes, namespaceBytes, payload]`.
 */

/** One (key, namespace) entry of a state as stored in a snapshot. */
export type RawEntry = [keyBytes: Uint8Array, namespaceBytes: Uint8Array, payload: unknown]

/** The entries of one state in one key group. */
export type KeyGroupItem = [stateIndex: number, entries: RawEntry[]]

/** Converts what a state stores for one (key, namespace) to its snapshot payload and back. */
export interface PayloadCodec<V> {
  /** The payload, or undefined when nothing of the value belongs in a snapshot (all of it expired). */
  encode(value: V, now: number): unknown
  /** The stored value, or undefined when the payload holds nothing. */
  decode(payload: unknown, now: number): V | undefined
}

/**
 * Per-snapshot scratch: the time expiry is judged at, and the bytes of keys and namespaces seen so
 * far. The same bytes object is reused wherever a key (or namespace) repeats, and the packer writes
 * a repeated object as a reference, so a snapshot written in steps must share exactly as one written
 * at once: key bytes are cached per key group until the group is written.
 */
export class SnapshotScope {
  private readonly keys = new Map<number, Map<KeyIdentity, Uint8Array>>()
  private readonly namespaces = new Map<TypeSerializer<unknown>, Map<KeyIdentity, Uint8Array>>()

  constructor(readonly now: number) {}

  /** A key's canonical bytes; a key held by several states is serialized once per key group. */
  keyBytes(groupIndex: number, keyId: KeyIdentity, key: unknown): Uint8Array {
    let cache = this.keys.get(groupIndex)
    if (cache === undefined) {
      cache = new Map()
      this.keys.set(groupIndex, cache)
    }
    let bytes = cache.get(keyId)
    if (bytes === undefined) {
      bytes = serializeKey(key)
      cache.set(keyId, bytes)
    }
    return bytes
  }

  /** A namespace's bytes; windows repeat across keys, so they are serialized once per snapshot. */
  namespaceBytes(serializer: TypeSerializer<unknown>, nsId: KeyIdentity, namespace: unknown): Uint8Array {
    let cache = this.namespaces.get(serializer)
    if (cache === undefined) {
      cache = new Map()
      this.namespaces.set(serializer, cache)
    }
    let bytes = cache.get(nsId)
    if (bytes === undefined) {
      bytes = serializer.serialize(namespace)
      cache.set(nsId, bytes)
    }
    return bytes
  }

  /** Keys belong to one key group, so their cache can go once the group is written. */
  endKeyGroup(groupIndex: number): void {
    this.keys.delete(groupIndex)
  }
}

/**
 * Appends the snapshot entries of one key of a state table to `out` and returns how many
 * (key, namespace) slots it looked at, at least 1, as a measure of the work done.
 */
export function encodeKeyEntry<V>(
  groupIndex: number,
  keyId: KeyIdentity,
  entry: KeyEntry<V>,
  codec: PayloadCodec<V>,
  namespaceSerializer: TypeSerializer<unknown>,
  scope: SnapshotScope,
  out: RawEntry[],
): number {
  let slots = 0
  if (entry.voidValue !== undefined) {
    slots++
    const payload = codec.encode(entry.voidValue, scope.now)
    if (payload !== undefined) out.push([scope.keyBytes(groupIndex, keyId, entry.key), scope.namespaceBytes(namespaceSerializer, 0, 0), payload])
  }
  if (entry.namespaces !== undefined) {
    for (const [nsId, slot] of entry.namespaces) {
      slots++
      const payload = codec.encode(slot.value, scope.now)
      if (payload !== undefined) out.push([scope.keyBytes(groupIndex, keyId, entry.key), scope.namespaceBytes(namespaceSerializer, nsId, slot.namespace), payload])
    }
  }
  return slots === 0 ? 1 : slots
}

/** The bytes of one key group. */
export function packKeyGroup(items: readonly KeyGroupItem[]): Uint8Array {
  return internalPackr.pack(items)
}

/** Decodes one key group, checking the shape so a corrupt snapshot fails with a clear error. */
export function decodeKeyGroup(bytes: Uint8Array, keyGroup: number, stateCount: number): KeyGroupItem[] {
  let decoded: unknown
  try {
    decoded = internalPackr.unpack(bytes)
  } catch (cause) {
    throw new StateError(`Corrupt keyed state snapshot: key group ${keyGroup} cannot be decoded`, { cause })
  }
  if (!Array.isArray(decoded)) throw corrupt(keyGroup, 'it is not an array')
  for (const item of decoded as unknown[]) {
    if (!Array.isArray(item) || item.length !== 2) throw corrupt(keyGroup, 'an item is not a [stateIndex, entries] pair')
    const [index, entries] = item as unknown[]
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= stateCount) {
      throw corrupt(keyGroup, `state index ${String(index)} is not one of the ${stateCount} states of the snapshot`)
    }
    if (!Array.isArray(entries)) throw corrupt(keyGroup, `the entries of state ${index} are not an array`)
    for (const entry of entries as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 3 || !(entry[0] instanceof Uint8Array) || !(entry[1] instanceof Uint8Array)) {
        throw corrupt(keyGroup, `an entry of state ${index} is not [keyBytes, namespaceBytes, payload]`)
      }
    }
  }
  return decoded as KeyGroupItem[]
}

function corrupt(keyGroup: number, problem: string): StateError {
  return new StateError(`Corrupt keyed state snapshot: key group ${keyGroup}: ${problem}`)
}

/** The error for a payload that does not have its kind's shape. */
export function corruptPayload(stateName: string, expected: string): StateError {
  return new StateError(`Corrupt keyed state snapshot: an entry of state '${stateName}' is not ${expected}`)
}

/** Checks a `[bytes, expiresAt]` pair (value payloads, list elements). */
export function isBytesAndTime(value: unknown): value is [Uint8Array, number] {
  return Array.isArray(value) && value.length === 2 && value[0] instanceof Uint8Array && typeof value[1] === 'number'
}

/** Checks a `[userKeyBytes, userValueBytes, expiresAt]` triple (map payload entries). */
export function isMapPayloadEntry(value: unknown): value is [Uint8Array, Uint8Array, number] {
  return Array.isArray(value) && value.length === 3 && value[0] instanceof Uint8Array && value[1] instanceof Uint8Array && typeof value[2] === 'number'
}
