import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import { StateError } from '../../errors.ts'
import type { ListStateDescriptor } from '../descriptors.ts'
import { isExpired, type TtlPolicy } from '../heap/ttl-policy.ts'
import type { InternalListState } from '../keyed-state-backend.ts'
import type { KeyedStateSerializers } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo } from '../snapshot.ts'
import type { CachedRow } from './row-cache.ts'
import { RocksState, type RocksStateEnv } from './rocksdb-state.ts'
import { decodeElements, encodeElement, type StoredElement } from './value-codec.ts'

/**
 * `ListState` in RocksDB: one row per key and namespace holding the elements one after the other.
 * `add` and `addAll` append through RocksDB's merge operator without reading the list; with TTL
 * each element carries its own expiry.
 */
export class RocksListState<N, T> extends RocksState<N> implements InternalListState<N, T> {
  readonly kind = 'list' as const
  private readonly elementSerializer: TypeSerializer<T>

  constructor(env: RocksStateEnv, descriptor: ListStateDescriptor<T>, namespaceSerializer: TypeSerializer<unknown>, stateId: number) {
    super(env, descriptor, namespaceSerializer, stateId)
    this.elementSerializer = descriptor.elementSerializer ?? Types.default<T>()
  }

  metaInfo(): KeyedStateMetaInfo {
    return this.buildMetaInfo(this.elementSerializer)
  }

  serializers(): KeyedStateSerializers {
    return { value: this.elementSerializer as TypeSerializer<unknown>, namespace: this.namespaceSerializer }
  }

  get(): T[] {
    const row = this.rowAt(this.namespacePart)
    const stored = this.load(row)
    if (stored === null) return []
    const elements = decodeElements(stored)
    if (this.ttl === null) return elements.map((element) => this.elementSerializer.deserialize(element.bytes))
    return this.readWithTtl(row, elements, this.ttl)
  }

  /** Returns the visible elements and writes back the list without expired ones (and refreshed, on read). */
  private readWithTtl(row: CachedRow, elements: readonly StoredElement[], ttl: TtlPolicy): T[] {
    const now = ttl.now()
    const out: T[] = []
    const kept: Buffer[] = []
    let changed = false
    for (const element of elements) {
      if (isExpired(this.effectiveExpiry(element.expiresAt), now)) {
        changed = true
        if (ttl.returnExpired) out.push(this.elementSerializer.deserialize(element.bytes))
      } else {
        out.push(this.elementSerializer.deserialize(element.bytes))
        if (ttl.updateOnRead) {
          kept.push(encodeElement(element.bytes, now + ttl.ttlMs))
          changed = true
        } else {
          kept.push(element.raw)
        }
      }
    }
    if (changed) {
      if (kept.length === 0) this.erase(row)
      else this.store(row, Buffer.concat(kept))
    }
    return out
  }

  add(value: T): void {
    const element = this.toElement(value)
    this.append(this.rowAt(this.namespacePart), element)
  }

  addAll(values: Iterable<T>): void {
    const elements = this.toElements(values)
    if (elements.length === 0) return
    this.append(this.rowAt(this.namespacePart), elements.length === 1 ? elements[0] : Buffer.concat(elements))
  }

  update(values: Iterable<T>): void {
    const elements = this.toElements(values)
    const row = this.rowAt(this.namespacePart)
    if (elements.length === 0) this.erase(row)
    else this.store(row, Buffer.concat(elements))
  }

  clear(): void {
    this.erase(this.rowAt(this.namespacePart))
  }

  /** Appends the sources' elements to the target's, in source order, and removes the sources. */
  mergeNamespaces(target: N, sources: readonly N[]): void {
    this.checkKey()
    const merged: Buffer[] = []
    for (const source of sources) {
      const row = this.rowAt(this.namespacePartOf(source))
      const stored = this.load(row)
      if (stored === null) continue
      this.erase(row)
      const ttl = this.ttl
      if (ttl === null || ttl.returnExpired) {
        merged.push(stored)
        continue
      }
      const now = ttl.now()
      for (const element of decodeElements(stored)) if (!isExpired(this.effectiveExpiry(element.expiresAt), now)) merged.push(element.raw)
    }
    if (merged.length === 0) return
    this.append(this.rowAt(this.namespacePartOf(target)), Buffer.concat(merged))
  }

  private toElement(value: T): Buffer {
    // As Flink refuses null: an undefined element could not be told from a missing one.
    if (value === undefined) throw new StateError(`List state '${this.name}' cannot hold undefined`)
    return encodeElement(this.elementSerializer.serialize(value), this.ttl === null ? 0 : this.ttl.expiry())
  }

  private toElements(values: Iterable<T>): Buffer[] {
    const out: Buffer[] = []
    for (const value of values) out.push(this.toElement(value))
    return out
  }
}
