import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { StateDescriptor } from '../descriptors.ts'
import type { KeyIdentity } from '../key-serialization.ts'
import type { KeyedStateSerializers } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo } from '../snapshot.ts'
import { HeapState, type HeapStateEnv } from './heap-state.ts'
import { corruptPayload, isBytesAndTime, type PayloadCodec } from './snapshot-codec.ts'
import { ABSENT, isExpired, TtlValue, type Absent, type TtlPolicy } from './ttl-policy.ts'

/**
 * Base of the states holding one value per key and namespace (value, reducing, aggregating).
 * Without TTL the table holds the value itself, so the hot path allocates nothing; with TTL it
 * holds a `TtlValue`.
 */
export abstract class SingleValueHeapState<N, T> extends HeapState<N, T | TtlValue<T>> {
  readonly codec: PayloadCodec<T | TtlValue<T>>

  constructor(
    env: HeapStateEnv,
    descriptor: StateDescriptor,
    namespaceSerializer: TypeSerializer<unknown>,
    protected readonly serializer: TypeSerializer<T>,
  ) {
    super(env, descriptor, namespaceSerializer)
    this.codec = valuePayloadCodec(this.name, serializer, this.ttl)
  }

  metaInfo(): KeyedStateMetaInfo {
    return this.buildMetaInfo(this.serializer)
  }

  serializers(): KeyedStateSerializers {
    return { value: this.serializer as TypeSerializer<unknown>, namespace: this.namespaceSerializer }
  }

  /** Primitives cannot be changed in place; `TtlValue`s are replaced, never changed. */
  override exposes(value: T | TtlValue<T>): boolean {
    const inner = this.ttl === null ? value : (value as TtlValue<T>).value
    return (typeof inner === 'object' && inner !== null) || typeof inner === 'function'
  }

  /**
   * The value in a namespace of the current key under the TTL rules: an expired value is removed
   * and, if the visibility allows, returned one last time. `access` says whether this read counts
   * as an access for 'onReadAndWrite'; a read that is followed by a write does not need to.
   */
  protected readAt(nsId: KeyIdentity, namespace: unknown, access: boolean): T | Absent {
    const stored = this.table.get(nsId)
    if (stored === undefined) return ABSENT
    const ttl = this.ttl
    if (ttl === null) return stored as T
    const boxed = stored as TtlValue<T>
    const now = ttl.now()
    if (isExpired(boxed.expiresAt, now)) {
      this.table.remove(nsId)
      return ttl.returnExpired ? boxed.value : ABSENT
    }
    if (access && ttl.updateOnRead) this.table.put(nsId, namespace, new TtlValue(boxed.value, now + ttl.ttlMs))
    return boxed.value
  }

  /** As `readAt` without refreshing, for a value that is about to be changed in place and written back. */
  protected readForUpdateAt(nsId: KeyIdentity): T | Absent {
    const stored = this.table.getForUpdate(nsId)
    if (stored === undefined) return ABSENT
    const ttl = this.ttl
    if (ttl === null) return stored as T
    const boxed = stored as TtlValue<T>
    if (isExpired(boxed.expiresAt, ttl.now())) {
      this.table.remove(nsId)
      return ttl.returnExpired ? boxed.value : ABSENT
    }
    return boxed.value
  }

  protected writeAt(nsId: KeyIdentity, namespace: unknown, value: T): void {
    if (value === undefined) {
      this.table.remove(nsId)
      return
    }
    this.table.put(nsId, namespace, this.ttl === null ? value : new TtlValue(value, this.ttl.expiry()))
  }

  /** Removes the value of a namespace and returns it if it is still visible. */
  private takeAt(nsId: KeyIdentity): T | Absent {
    const stored = this.table.removeAndGet(nsId)
    if (stored === undefined) return ABSENT
    const ttl = this.ttl
    if (ttl === null) return stored as T
    const boxed = stored as TtlValue<T>
    return ttl.returnExpired || !isExpired(boxed.expiresAt, ttl.now()) ? boxed.value : ABSENT
  }

  clear(): void {
    this.table.remove(this.nsId)
  }

  /**
   * Folds the sources into the target and removes them, as Flink: the sources are combined in
   * order, then the target's value (if any) is combined with that. Sources are taken before the
   * target is read, so a target listed among the sources is not counted twice.
   */
  protected mergeWith(target: N, sources: readonly N[], combine: (a: T, b: T) => T): void {
    let merged: T | Absent = ABSENT
    for (const source of sources) {
      const value = this.takeAt(this.identityOf(source))
      if (value !== ABSENT) merged = merged === ABSENT ? value : combine(merged, value)
    }
    if (merged === ABSENT) return
    const targetId = this.identityOf(target)
    const current = this.takeAt(targetId)
    this.writeAt(targetId, target, current === ABSENT ? merged : combine(current, merged))
  }
}

/** Payload `[valueBytes, expiresAt]`. */
function valuePayloadCodec<T>(stateName: string, serializer: TypeSerializer<T>, ttl: TtlPolicy | null): PayloadCodec<T | TtlValue<T>> {
  return {
    encode(value, now) {
      if (ttl === null) return [serializer.serialize(value as T), 0]
      const boxed = value as TtlValue<T>
      if (ttl.cleanupInSnapshot && isExpired(boxed.expiresAt, now)) return undefined
      return [serializer.serialize(boxed.value), boxed.expiresAt]
    },
    decode(payload, now) {
      if (!isBytesAndTime(payload)) throw corruptPayload(stateName, '[valueBytes, expiresAt]')
      const value = serializer.deserialize(payload[0])
      if (ttl === null) return value
      // Entries written without TTL start their lifetime at the restore.
      return new TtlValue(value, payload[1] > 0 ? payload[1] : now + ttl.ttlMs)
    },
  }
}
