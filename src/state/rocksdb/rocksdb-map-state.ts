import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import type { MapStateDescriptor } from '../descriptors.ts'
import { ABSENT, isExpired, type Absent, type TtlPolicy } from '../heap/ttl-policy.ts'
import type { InternalMapState } from '../keyed-state-backend.ts'
import { keyIdentity, serializeKey, type KeyIdentity } from '../key-serialization.ts'
import type { KeyedStateSerializers } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo } from '../snapshot.ts'
import type { CachedRow } from './row-cache.ts'
import { prefixEnd } from './row-key.ts'
import { RocksState, type RocksStateEnv } from './rocksdb-state.ts'
import { encodeMapValue, expiryOf, mapUserKeyBytes, mapValueBytes, mapWithExpiry } from './value-codec.ts'

/**
 * `MapState` in RocksDB: one row per user entry, the user key's canonical bytes appended to the
 * (key, namespace) row key, so equal user keys meet whatever their field order (as on the heap) and
 * the entries of one map are one prefix range. Point operations go through the row cache;
 * `entries()`, `keys()` and `values()` iterate the prefix in batches, never loading the whole map.
 */
export class RocksMapState<N, UK, UV> extends RocksState<N, Map<KeyIdentity, CachedRow>> implements InternalMapState<N, UK, UV> {
  readonly kind = 'map' as const
  private readonly keySerializer: TypeSerializer<UK>
  private readonly valueSerializer: TypeSerializer<UV>

  constructor(env: RocksStateEnv, descriptor: MapStateDescriptor<UK, UV>, namespaceSerializer: TypeSerializer<unknown>, stateId: number) {
    super(env, descriptor, namespaceSerializer, stateId)
    this.keySerializer = descriptor.keySerializer ?? Types.default<UK>()
    this.valueSerializer = descriptor.valueSerializer ?? Types.default<UV>()
  }

  metaInfo(): KeyedStateMetaInfo {
    return this.buildMetaInfo(this.valueSerializer, this.keySerializer)
  }

  serializers(): KeyedStateSerializers {
    return { value: this.valueSerializer as TypeSerializer<unknown>, mapKey: this.keySerializer as TypeSerializer<unknown>, namespace: this.namespaceSerializer }
  }

  override mapRowSuffix(userKeyBytes: Uint8Array): Uint8Array {
    return serializeKey(this.keySerializer.deserialize(userKeyBytes))
  }

  /** The row of a user key of the current key and namespace. */
  private userRow(key: UK): CachedRow {
    this.checkKey()
    const keyId = this.ctx.keyId
    const userKeyId = keyIdentity(key)
    const existing = this.group().get(keyId)?.get(userKeyId)
    if (existing !== undefined) return existing
    const row = this.newRow(this.rowKeyIn(this.namespacePart, serializeKey(key)))
    // Asked again: making room may have emptied the groups.
    const group = this.group()
    let rows = group.get(keyId)
    if (rows === undefined) {
      rows = new Map()
      group.set(keyId, rows)
    }
    rows.set(userKeyId, row)
    return row
  }

  get(key: UK): UV | undefined {
    const value = this.lookup(key)
    return value === ABSENT ? undefined : value
  }

  contains(key: UK): boolean {
    return this.lookup(key) !== ABSENT
  }

  private lookup(key: UK): UV | Absent {
    const row = this.userRow(key)
    const stored = this.load(row)
    if (stored === null) return ABSENT
    const ttl = this.ttl
    if (ttl === null) return this.valueSerializer.deserialize(mapValueBytes(stored))
    const now = ttl.now()
    if (isExpired(this.effectiveExpiry(expiryOf(stored)), now)) {
      this.erase(row)
      return ttl.returnExpired ? this.valueSerializer.deserialize(mapValueBytes(stored)) : ABSENT
    }
    if (ttl.updateOnRead) this.store(row, mapWithExpiry(stored, now + ttl.ttlMs))
    return this.valueSerializer.deserialize(mapValueBytes(stored))
  }

  put(key: UK, value: UV): void {
    const row = this.userRow(key)
    this.store(row, encodeMapValue(this.keySerializer.serialize(key), this.valueSerializer.serialize(value), this.ttl === null ? 0 : this.ttl.expiry()))
  }

  putAll(entries: Iterable<[UK, UV]>): void {
    for (const [key, value] of entries) this.put(key, value)
  }

  remove(key: UK): void {
    this.erase(this.userRow(key))
  }

  entries(): IterableIterator<[UK, UV]> {
    if (this.ttl !== null) return this.visibleEntries(this.ttl).values()
    return this.scan((stored) => [this.keySerializer.deserialize(mapUserKeyBytes(stored)), this.valueSerializer.deserialize(mapValueBytes(stored))])
  }

  keys(): IterableIterator<UK> {
    if (this.ttl !== null) return this.visibleEntries(this.ttl).map(([key]) => key).values()
    return this.scan((stored) => this.keySerializer.deserialize(mapUserKeyBytes(stored)))
  }

  values(): IterableIterator<UV> {
    if (this.ttl !== null) return this.visibleEntries(this.ttl).map(([, value]) => value).values()
    return this.scan((stored) => this.valueSerializer.deserialize(mapValueBytes(stored)))
  }

  isEmpty(): boolean {
    if (this.ttl !== null) return this.visibleEntries(this.ttl).length === 0
    this.checkKey()
    this.cache.flush()
    const prefix = this.rowKeyIn(this.namespacePart)
    const cursor = this.db.cursor(prefix, prefixEnd(prefix), { values: false, batchSize: 1 })
    const empty = !cursor.next()
    cursor.close()
    return empty
  }

  clear(): void {
    this.checkKey()
    this.cache.flush()
    const prefix = this.rowKeyIn(this.namespacePart)
    const cursor = this.db.cursor(prefix, prefixEnd(prefix), { values: false })
    while (cursor.next()) this.db.delete(cursor.key)
    this.db.write()
    this.dropKeyRows()
  }

  /**
   * Iterates the current map's rows. The view is taken now, not on the first `next()`: the
   * entries are those of the key current at the call, and writes made meanwhile do not show.
   */
  private scan<X>(map: (stored: Buffer) => X): IterableIterator<X> {
    this.checkKey()
    this.cache.flush()
    const prefix = this.rowKeyIn(this.namespacePart)
    const cursor = this.db.cursor(prefix, prefixEnd(prefix), { batchSize: 128 })
    return (function* () {
      try {
        while (cursor.next()) yield map(cursor.value)
      } finally {
        cursor.close()
      }
    })()
  }

  /**
   * With TTL, iteration is eager, as on the heap: the expired entries it meets are removed and, on
   * 'onReadAndWrite', the returned ones refreshed. The rows are written directly (the cache was
   * flushed first), and the cached rows of this map are dropped.
   */
  private visibleEntries(ttl: TtlPolicy): [UK, UV][] {
    this.checkKey()
    this.cache.flush()
    const prefix = this.rowKeyIn(this.namespacePart)
    const cursor = this.db.cursor(prefix, prefixEnd(prefix), { batchSize: 128 })
    const now = ttl.now()
    const out: [UK, UV][] = []
    let changed = false
    while (cursor.next()) {
      const stored = cursor.value
      const entry: [UK, UV] = [this.keySerializer.deserialize(mapUserKeyBytes(stored)), this.valueSerializer.deserialize(mapValueBytes(stored))]
      if (isExpired(this.effectiveExpiry(expiryOf(stored)), now)) {
        this.db.delete(cursor.key)
        changed = true
        if (ttl.returnExpired) out.push(entry)
      } else {
        out.push(entry)
        if (ttl.updateOnRead) {
          this.db.put(cursor.key, mapWithExpiry(stored, now + ttl.ttlMs))
          changed = true
        }
      }
    }
    if (changed) {
      this.db.write()
      this.dropKeyRows()
    }
    return out
  }

  /** Forgets the cached rows of the current key and namespace (they are all written). */
  private dropKeyRows(): void {
    const group = this.group()
    const rows = group.get(this.ctx.keyId)
    if (rows === undefined) return
    let bytes = 0
    for (const row of rows.values()) bytes += row.base?.length ?? 0
    this.cache.removed(rows.size, bytes)
    group.delete(this.ctx.keyId)
  }
}
