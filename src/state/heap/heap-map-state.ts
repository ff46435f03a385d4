import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import type { MapStateDescriptor } from '../descriptors.ts'
import type { InternalMapState } from '../keyed-state-backend.ts'
import { keyIdentity, type KeyIdentity } from '../key-serialization.ts'
import type { KeyedStateSerializers } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo } from '../snapshot.ts'
import { HeapState, type HeapStateEnv } from './heap-state.ts'
import { corruptPayload, isMapPayloadEntry, type PayloadCodec } from './snapshot-codec.ts'
import { ABSENT, isExpired, type Absent, type TtlPolicy } from './ttl-policy.ts'

/** One user entry of a map state; keeps the original user key for `keys()` and snapshots. */
export class MapEntry<UK, UV> {
  constructor(
    readonly key: UK,
    readonly value: UV,
    /** 0 when the state has no TTL. */
    readonly expiresAt: number,
  ) {}
}

/** The user map of one key and namespace, by user-key identity. */
export type UserMap<UK, UV> = Map<KeyIdentity, MapEntry<UK, UV>>

/**
 * `MapState` on the heap. The table holds a live `Map` per key and namespace, which is removed when
 * its last entry goes so emptiness and entry counts stay exact. With TTL each entry expires on its own.
 */
export class HeapMapState<N, UK, UV> extends HeapState<N, UserMap<UK, UV>> implements InternalMapState<N, UK, UV> {
  readonly kind = 'map' as const
  readonly codec: PayloadCodec<UserMap<UK, UV>>
  private readonly keySerializer: TypeSerializer<UK>
  private readonly valueSerializer: TypeSerializer<UV>

  constructor(env: HeapStateEnv, descriptor: MapStateDescriptor<UK, UV>, namespaceSerializer: TypeSerializer<unknown>) {
    super(env, descriptor, namespaceSerializer)
    this.keySerializer = descriptor.keySerializer ?? Types.default<UK>()
    this.valueSerializer = descriptor.valueSerializer ?? Types.default<UV>()
    this.codec = mapPayloadCodec(this.name, this.keySerializer, this.valueSerializer, this.ttl)
  }

  metaInfo(): KeyedStateMetaInfo {
    return this.buildMetaInfo(this.valueSerializer, this.keySerializer)
  }

  serializers(): KeyedStateSerializers {
    return { value: this.valueSerializer as TypeSerializer<unknown>, mapKey: this.keySerializer as TypeSerializer<unknown>, namespace: this.namespaceSerializer }
  }

  get(key: UK): UV | undefined {
    const value = this.lookup(key)
    return value === ABSENT ? undefined : value
  }

  contains(key: UK): boolean {
    return this.lookup(key) !== ABSENT
  }

  private lookup(key: UK): UV | Absent {
    const ttl = this.ttl
    const map = ttl === null ? this.table.get(this.nsId) : this.table.getForUpdate(this.nsId)
    if (map === undefined) return ABSENT
    const id = keyIdentity(key)
    const entry = map.get(id)
    if (entry === undefined) return ABSENT
    if (ttl === null) return entry.value
    const now = ttl.now()
    if (isExpired(entry.expiresAt, now)) {
      this.deleteFrom(map, id)
      return ttl.returnExpired ? entry.value : ABSENT
    }
    if (ttl.updateOnRead) map.set(id, new MapEntry(entry.key, entry.value, now + ttl.ttlMs))
    return entry.value
  }

  put(key: UK, value: UV): void {
    const id = keyIdentity(key)
    const entry = new MapEntry(key, value, this.ttl === null ? 0 : this.ttl.expiry())
    const map = this.table.getForUpdate(this.nsId)
    if (map === undefined) this.table.put(this.nsId, this.namespace, new Map([[id, entry]]))
    else map.set(id, entry)
  }

  putAll(entries: Iterable<[UK, UV]>): void {
    for (const [key, value] of entries) this.put(key, value)
  }

  remove(key: UK): void {
    const map = this.table.getForUpdate(this.nsId)
    if (map !== undefined) this.deleteFrom(map, keyIdentity(key))
  }

  private deleteFrom(map: UserMap<UK, UV>, id: KeyIdentity): void {
    if (map.delete(id) && map.size === 0) this.table.remove(this.nsId)
  }

  entries(): IterableIterator<[UK, UV]> {
    if (this.ttl !== null) return this.visibleEntries(this.ttl).values()
    const map = this.table.get(this.nsId)
    // The map is taken now, not on the first next(), so the entries are those of the key current at the call.
    return map === undefined ? emptyIterator() : entryTuples(map)
  }

  keys(): IterableIterator<UK> {
    if (this.ttl !== null) return this.visibleEntries(this.ttl).map(([key]) => key).values()
    const map = this.table.get(this.nsId)
    return map === undefined ? emptyIterator() : entryKeys(map)
  }

  values(): IterableIterator<UV> {
    if (this.ttl !== null) return this.visibleEntries(this.ttl).map(([, value]) => value).values()
    const map = this.table.get(this.nsId)
    return map === undefined ? emptyIterator() : entryValues(map)
  }

  isEmpty(): boolean {
    if (this.ttl !== null) return this.visibleEntries(this.ttl).length === 0
    return this.table.get(this.nsId) === undefined
  }

  clear(): void {
    this.table.remove(this.nsId)
  }

  /**
   * With TTL, iteration is eager: the expired entries it meets are removed and, on 'onReadAndWrite',
   * the returned ones refreshed, which is simpler to get right on a list than inside a lazy iterator.
   */
  private visibleEntries(ttl: TtlPolicy): [UK, UV][] {
    const map = this.table.getForUpdate(this.nsId)
    if (map === undefined) return []
    const now = ttl.now()
    const out: [UK, UV][] = []
    for (const [id, entry] of map) {
      if (isExpired(entry.expiresAt, now)) {
        map.delete(id)
        if (ttl.returnExpired) out.push([entry.key, entry.value])
      } else {
        out.push([entry.key, entry.value])
        if (ttl.updateOnRead) map.set(id, new MapEntry(entry.key, entry.value, now + ttl.ttlMs))
      }
    }
    if (map.size === 0) this.table.remove(this.nsId)
    return out
  }
}

function* entryTuples<UK, UV>(map: UserMap<UK, UV>): IterableIterator<[UK, UV]> {
  for (const entry of map.values()) yield [entry.key, entry.value]
}

function* entryKeys<UK, UV>(map: UserMap<UK, UV>): IterableIterator<UK> {
  for (const entry of map.values()) yield entry.key
}

function* entryValues<UK, UV>(map: UserMap<UK, UV>): IterableIterator<UV> {
  for (const entry of map.values()) yield entry.value
}

function emptyIterator<T>(): IterableIterator<T> {
  return ([] as T[]).values()
}

/** Payload `[[userKeyBytes, userValueBytes, expiresAt], ...]`. */
function mapPayloadCodec<UK, UV>(
  stateName: string,
  keySerializer: TypeSerializer<UK>,
  valueSerializer: TypeSerializer<UV>,
  ttl: TtlPolicy | null,
): PayloadCodec<UserMap<UK, UV>> {
  return {
    encode(map, now) {
      const out: [Uint8Array, Uint8Array, number][] = []
      const dropExpired = ttl !== null && ttl.cleanupInSnapshot
      for (const entry of map.values()) {
        if (dropExpired && isExpired(entry.expiresAt, now)) continue
        out.push([keySerializer.serialize(entry.key), valueSerializer.serialize(entry.value), entry.expiresAt])
      }
      return out.length === 0 ? undefined : out
    },
    decode(payload, now) {
      if (!Array.isArray(payload)) throw corruptPayload(stateName, 'a list of [userKeyBytes, userValueBytes, expiresAt]')
      const map: UserMap<UK, UV> = new Map()
      for (const item of payload as unknown[]) {
        if (!isMapPayloadEntry(item)) throw corruptPayload(stateName, 'a list of [userKeyBytes, userValueBytes, expiresAt]')
        const key = keySerializer.deserialize(item[0])
        const expiresAt = ttl === null ? 0 : item[2] > 0 ? item[2] : now + ttl.ttlMs
        map.set(keyIdentity(key), new MapEntry(key, valueSerializer.deserialize(item[1]), expiresAt))
      }
      return map.size === 0 ? undefined : map
    },
  }
}
