/**
 * The state kinds a user function sees. Access is synchronous: a keyed operator sets the current
 * key before calling user code, and every call reads or writes the state of that key.
 */

/** One value per key (and namespace). */
export interface ValueState<T> {
  value(): T | undefined
  /** Setting `undefined` clears the value. */
  update(value: T | undefined): void
  clear(): void
}

/** A list of values per key. */
export interface ListState<T> {
  /** The current elements; an empty array when there are none. The array is a copy. */
  get(): T[]
  add(value: T): void
  addAll(values: Iterable<T>): void
  /** Replaces the whole list. */
  update(values: Iterable<T>): void
  clear(): void
}

/** A map of user keys to values, per key. Map keys follow the same canonical rules as stream keys. */
export interface MapState<UK, UV> {
  get(key: UK): UV | undefined
  put(key: UK, value: UV): void
  putAll(entries: Iterable<[UK, UV]>): void
  remove(key: UK): void
  contains(key: UK): boolean
  entries(): IterableIterator<[UK, UV]>
  keys(): IterableIterator<UK>
  values(): IterableIterator<UV>
  isEmpty(): boolean
  clear(): void
}

/** Values added are folded into one by a reduce function. */
export interface ReducingState<T> {
  get(): T | undefined
  add(value: T): void
  clear(): void
}

/** Values added are folded into an accumulator; `get` returns the aggregate's result. */
export interface AggregatingState<IN, OUT> {
  get(): OUT | undefined
  add(value: IN): void
  clear(): void
}

/** Incremental aggregation: create an accumulator, add values, merge accumulators, read the result. */
export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC
  add(value: IN, accumulator: ACC): ACC
  getResult(accumulator: ACC): OUT
  merge(a: ACC, b: ACC): ACC
}

/** Broadcast state as the broadcast side sees it: read and write. */
export interface BroadcastState<K, V> extends ReadOnlyBroadcastState<K, V> {
  put(key: K, value: V): void
  putAll(entries: Iterable<[K, V]>): void
  remove(key: K): void
  clear(): void
}

/** Broadcast state as the keyed (non-broadcast) side sees it. */
export interface ReadOnlyBroadcastState<K, V> {
  get(key: K): V | undefined
  contains(key: K): boolean
  entries(): IterableIterator<[K, V]>
  keys(): IterableIterator<K>
  values(): IterableIterator<V>
  readonly size: number
}
