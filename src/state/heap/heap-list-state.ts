import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import { StateError } from '../../errors.ts'
import type { ListStateDescriptor } from '../descriptors.ts'
import type { InternalListState } from '../keyed-state-backend.ts'
import type { KeyedStateSerializers } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo } from '../snapshot.ts'
import { HeapState, type HeapStateEnv } from './heap-state.ts'
import { corruptPayload, isBytesAndTime, type PayloadCodec } from './snapshot-codec.ts'
import { isExpired, TtlValue, type TtlPolicy } from './ttl-policy.ts'

/**
 * `ListState` on the heap. The table holds a live array, appended to in place; its elements are
 * the values themselves, or `TtlValue`s when the state has TTL (each element expires on its own).
 */
export class HeapListState<N, T> extends HeapState<N, unknown[]> implements InternalListState<N, T> {
  readonly kind = 'list' as const
  readonly codec: PayloadCodec<unknown[]>
  private readonly elementSerializer: TypeSerializer<T>

  constructor(env: HeapStateEnv, descriptor: ListStateDescriptor<T>, namespaceSerializer: TypeSerializer<unknown>) {
    super(env, descriptor, namespaceSerializer)
    this.elementSerializer = descriptor.elementSerializer ?? Types.default<T>()
    this.codec = listPayloadCodec(this.name, this.elementSerializer, this.ttl)
  }

  metaInfo(): KeyedStateMetaInfo {
    return this.buildMetaInfo(this.elementSerializer)
  }

  serializers(): KeyedStateSerializers {
    return { value: this.elementSerializer as TypeSerializer<unknown>, namespace: this.namespaceSerializer }
  }

  get(): T[] {
    const stored = this.table.get(this.nsId)
    if (stored === undefined) return []
    if (this.ttl === null) return (stored as T[]).slice()
    return this.readWithTtl(stored as TtlValue<T>[], this.ttl)
  }

  /** Returns the visible elements and writes back the list without expired ones (and refreshed, on read). */
  private readWithTtl(stored: readonly TtlValue<T>[], ttl: TtlPolicy): T[] {
    const now = ttl.now()
    const out: T[] = []
    const kept: TtlValue<T>[] = []
    let changed = false
    for (const element of stored) {
      if (isExpired(element.expiresAt, now)) {
        changed = true
        if (ttl.returnExpired) out.push(element.value)
      } else {
        out.push(element.value)
        if (ttl.updateOnRead) {
          kept.push(new TtlValue(element.value, now + ttl.ttlMs))
          changed = true
        } else {
          kept.push(element)
        }
      }
    }
    if (changed) {
      if (kept.length === 0) this.table.remove(this.nsId)
      else this.table.put(this.nsId, this.namespace, kept)
    }
    return out
  }

  add(value: T): void {
    const element = this.toElement(value)
    const stored = this.table.getForUpdate(this.nsId)
    if (stored === undefined) this.table.put(this.nsId, this.namespace, [element])
    else stored.push(element)
  }

  addAll(values: Iterable<T>): void {
    const elements = this.toElements(values)
    if (elements.length === 0) return
    const stored = this.table.getForUpdate(this.nsId)
    if (stored === undefined) this.table.put(this.nsId, this.namespace, elements)
    else for (const element of elements) stored.push(element)
  }

  update(values: Iterable<T>): void {
    const elements = this.toElements(values)
    if (elements.length === 0) this.table.remove(this.nsId)
    else this.table.put(this.nsId, this.namespace, elements)
  }

  clear(): void {
    this.table.remove(this.nsId)
  }

  /** Appends the sources' elements to the target's, in source order, and removes the sources. */
  mergeNamespaces(target: N, sources: readonly N[]): void {
    let merged: unknown[] | undefined
    for (const source of sources) {
      const elements = this.visible(this.table.removeAndGet(this.identityOf(source)))
      if (elements === undefined) continue
      if (merged === undefined) merged = elements
      else for (const element of elements) merged.push(element)
    }
    if (merged === undefined) return
    const targetId = this.identityOf(target)
    const stored = this.table.getForUpdate(targetId)
    if (stored === undefined) this.table.put(targetId, target, merged)
    else for (const element of merged) stored.push(element)
  }

  /** Drops the elements no one may read any more; undefined when none is left. */
  private visible(elements: unknown[] | undefined): unknown[] | undefined {
    const ttl = this.ttl
    if (elements === undefined || ttl === null || ttl.returnExpired) return elements
    const now = ttl.now()
    const kept = (elements as TtlValue<T>[]).filter((element) => !isExpired(element.expiresAt, now))
    return kept.length === 0 ? undefined : kept
  }

  private toElement(value: T): unknown {
    // As Flink refuses null: an undefined element could not be told from a missing one.
    if (value === undefined) throw new StateError(`List state '${this.name}' cannot hold undefined`)
    return this.ttl === null ? value : new TtlValue(value, this.ttl.expiry())
  }

  private toElements(values: Iterable<T>): unknown[] {
    const out: unknown[] = []
    for (const value of values) out.push(this.toElement(value))
    return out
  }
}

/** Payload `[[elementBytes, expiresAt], ...]`. */
function listPayloadCodec<T>(stateName: string, serializer: TypeSerializer<T>, ttl: TtlPolicy | null): PayloadCodec<unknown[]> {
  return {
    encode(elements, now) {
      const out: [Uint8Array, number][] = []
      if (ttl === null) {
        for (const element of elements) out.push([serializer.serialize(element as T), 0])
      } else {
        for (const element of elements as TtlValue<T>[]) {
          if (!(ttl.cleanupInSnapshot && isExpired(element.expiresAt, now))) out.push([serializer.serialize(element.value), element.expiresAt])
        }
      }
      return out.length === 0 ? undefined : out
    },
    decode(payload, now) {
      if (!Array.isArray(payload)) throw corruptPayload(stateName, 'a list of [elementBytes, expiresAt]')
      const out: unknown[] = []
      for (const item of payload as unknown[]) {
        if (!isBytesAndTime(item)) throw corruptPayload(stateName, 'a list of [elementBytes, expiresAt]')
        const value = serializer.deserialize(item[0])
        out.push(ttl === null ? value : new TtlValue(value, item[1] > 0 ? item[1] : now + ttl.ttlMs))
      }
      return out.length === 0 ? undefined : out
    },
  }
}
