import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { StateDescriptor } from '../descriptors.ts'
import { ABSENT, isExpired, type Absent } from '../heap/ttl-policy.ts'
import type { KeyedStateSerializers } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo } from '../snapshot.ts'
import { RocksState, type RocksStateEnv } from './rocksdb-state.ts'
import { encodeValue, expiryOf, valueBytes, withExpiry } from './value-codec.ts'

/**
 * Base of the states holding one value per key and namespace (value, reducing, aggregating): one
 * row each. Every read deserializes the stored bytes, so a value read is a copy: changing it in
 * place changes nothing until it is written back, as in Flink's RocksDB backend.
 */
export abstract class RocksSingleValueState<N, T> extends RocksState<N> {
  constructor(
    env: RocksStateEnv,
    descriptor: StateDescriptor,
    namespaceSerializer: TypeSerializer<unknown>,
    stateId: number,
    protected readonly serializer: TypeSerializer<T>,
  ) {
    super(env, descriptor, namespaceSerializer, stateId)
  }

  metaInfo(): KeyedStateMetaInfo {
    return this.buildMetaInfo(this.serializer)
  }

  serializers(): KeyedStateSerializers {
    return { value: this.serializer as TypeSerializer<unknown>, namespace: this.namespaceSerializer }
  }

  /**
   * The value in a namespace of the current key under the TTL rules, as the heap backend: an
   * expired value is removed and, if the visibility allows, returned one last time. `access` says
   * whether the read counts as an access for 'onReadAndWrite'.
   */
  protected readAt(namespacePart: Buffer, access: boolean): T | Absent {
    const row = this.rowAt(namespacePart)
    const stored = this.load(row)
    if (stored === null) return ABSENT
    const ttl = this.ttl
    if (ttl === null) return this.serializer.deserialize(valueBytes(stored))
    const now = ttl.now()
    if (isExpired(this.effectiveExpiry(expiryOf(stored)), now)) {
      this.erase(row)
      return ttl.returnExpired ? this.serializer.deserialize(valueBytes(stored)) : ABSENT
    }
    if (access && ttl.updateOnRead) this.store(row, withExpiry(stored, now + ttl.ttlMs))
    return this.serializer.deserialize(valueBytes(stored))
  }

  protected writeAt(namespacePart: Buffer, value: T): void {
    const row = this.rowAt(namespacePart)
    if (value === undefined) this.erase(row)
    else this.store(row, encodeValue(this.serializer.serialize(value), this.ttl === null ? 0 : this.ttl.expiry()))
  }

  /** Removes the value of a namespace and returns it if it is still visible. */
  private takeAt(namespacePart: Buffer): T | Absent {
    const row = this.rowAt(namespacePart)
    const stored = this.load(row)
    if (stored === null) return ABSENT
    this.erase(row)
    const ttl = this.ttl
    if (ttl !== null && !ttl.returnExpired && isExpired(this.effectiveExpiry(expiryOf(stored)), ttl.now())) return ABSENT
    return this.serializer.deserialize(valueBytes(stored))
  }

  clear(): void {
    this.erase(this.rowAt(this.namespacePart))
  }

  /**
   * Folds the sources into the target and removes them, as the heap backend: sources combined in
   * order, then the target's value (if any) combined with that. Sources are taken before the
   * target is read, so a target listed among the sources is not counted twice.
   */
  protected mergeWith(target: N, sources: readonly N[], combine: (a: T, b: T) => T): void {
    this.checkKey()
    let merged: T | Absent = ABSENT
    for (const source of sources) {
      const value = this.takeAt(this.namespacePartOf(source))
      if (value !== ABSENT) merged = merged === ABSENT ? value : combine(merged, value)
    }
    if (merged === ABSENT) return
    const targetPart = this.namespacePartOf(target)
    const current = this.takeAt(targetPart)
    this.writeAt(targetPart, current === ABSENT ? merged : combine(current, merged))
  }
}
