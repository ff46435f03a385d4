import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { BroadcastState } from '../state.ts'
import { keyIdentity, type KeyIdentity } from '../key-serialization.ts'
import { StateError } from '../../errors.ts'

/**
 * Broadcast state of one subtask: a map every subtask holds a copy of. Keys follow the canonical key
 * rules, so `{a: 1, b: 2}` and `{b: 2, a: 1}` are the same key; the key first put is the one kept.
 */
export class HeapBroadcastState<K, V> implements BroadcastState<K, V> {
  private readonly map = new Map<KeyIdentity, [K, V]>()

  constructor(
    readonly name: string,
    readonly keySerializer: TypeSerializer<K>,
    readonly valueSerializer: TypeSerializer<V>,
  ) {}

  get size(): number {
    return this.map.size
  }

  get(key: K): V | undefined {
    return this.map.get(keyIdentity(key))?.[1]
  }

  contains(key: K): boolean {
    return this.map.has(keyIdentity(key))
  }

  put(key: K, value: V): void {
    const id = keyIdentity(key)
    const entry = this.map.get(id)
    if (entry === undefined) this.map.set(id, [key, value])
    else entry[1] = value
  }

  putAll(entries: Iterable<[K, V]>): void {
    for (const [key, value] of entries) this.put(key, value)
  }

  remove(key: K): void {
    this.map.delete(keyIdentity(key))
  }

  clear(): void {
    this.map.clear()
  }

  *entries(): IterableIterator<[K, V]> {
    // Fresh pairs, so a caller that writes into one does not change the stored entry.
    for (const [key, value] of this.map.values()) yield [key, value]
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.map.values()) yield value
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.map.values()) yield key
  }

  /** The entries as bytes, for a snapshot. */
  serializeEntries(): [Uint8Array, Uint8Array][] {
    const out: [Uint8Array, Uint8Array][] = []
    for (const [key, value] of this.map.values()) {
      let keyBytes: Uint8Array
      let valueBytes: Uint8Array
      try {
        keyBytes = this.keySerializer.serialize(key)
        valueBytes = this.valueSerializer.serialize(value)
      } catch (cause) {
        throw new StateError(`Broadcast state '${this.name}': could not serialize an entry: ${String(cause)}`, { cause })
      }
      out.push([keyBytes, valueBytes])
    }
    return out
  }
}
