import type { TypeSerializer } from '../api/serialization/type-serializer.ts'
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  StateDescriptor,
  ValueStateDescriptor,
} from './descriptors.ts'
import type { KeyGroupRange } from './key-groups.ts'
import type { KeyedStateSnapshot } from './snapshot.ts'
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from './state.ts'

/** A state whose namespace can be switched: windows keep one namespace per window. */
export interface Namespaced<N> {
  setCurrentNamespace(namespace: N): void
}

/** A state that can fold the content of several namespaces into one (session windows merge). */
export interface MergeableState<N> extends Namespaced<N> {
  mergeNamespaces(target: N, sources: readonly N[]): void
}

/** Internal views of the state kinds, with namespace control. */
export type InternalValueState<N, T> = ValueState<T> & Namespaced<N>
export type InternalListState<N, T> = ListState<T> & MergeableState<N>
export type InternalMapState<N, UK, UV> = MapState<UK, UV> & Namespaced<N>
export type InternalReducingState<N, T> = ReducingState<T> & MergeableState<N>
export type InternalAggregatingState<N, IN, OUT> = AggregatingState<IN, OUT> & MergeableState<N>

/** The namespace of state that is not in a window. */
export const VOID_NAMESPACE = 0 as const
/** Type of `VOID_NAMESPACE`. */
export type VoidNamespace = typeof VOID_NAMESPACE

/**
 * A snapshot in progress: its content is fixed when it begins; it is serialized in steps while the
 * backend keeps changing. Checkpoints use it so that only the cheap begin pauses record processing:
 * the task calls `step` between record batches on the same thread.
 */
export interface PendingKeyedSnapshot {
  /**
   * Serializes up to about `maxEntries` more entries; returns true when done. A value below 1
   * counts as 1, so every call makes progress. Throws if the snapshot failed (the error that
   * failed it, e.g. a serializer's) or was discarded.
   */
  step(maxEntries: number): boolean
  /** The finished snapshot (only after step returned true); throws before. */
  result(): KeyedStateSnapshot
  /** Abandons the snapshot (checkpoint aborted) and releases what it held. Idempotent. */
  discard(): void
}

/**
 * Keyed state of one operator subtask, covering a key-group range. The operator sets the current key
 * before it calls user code; every state handle then reads and writes that key's entries.
 * Implementations: the heap backend, the RocksDB backend.
 */
export interface KeyedStateBackend {
  readonly maxParallelism: number
  readonly keyGroupRange: KeyGroupRange

  /** Sets the key later state calls use. Throws if the key belongs to another subtask's range. */
  setCurrentKey(key: unknown): void
  getCurrentKey(): unknown
  getCurrentKeyGroup(): number

  /**
   * Returns the state for a descriptor, creating it on first use. Calling twice with the same name
   * returns the same state; a different kind under the same name is an error.
   */
  getValueState<N, T>(descriptor: ValueStateDescriptor<T>, namespaceSerializer?: TypeSerializer<N>): InternalValueState<N, T>
  getListState<N, T>(descriptor: ListStateDescriptor<T>, namespaceSerializer?: TypeSerializer<N>): InternalListState<N, T>
  getMapState<N, UK, UV>(descriptor: MapStateDescriptor<UK, UV>, namespaceSerializer?: TypeSerializer<N>): InternalMapState<N, UK, UV>
  getReducingState<N, T>(descriptor: ReducingStateDescriptor<T>, namespaceSerializer?: TypeSerializer<N>): InternalReducingState<N, T>
  getAggregatingState<N, IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
    namespaceSerializer?: TypeSerializer<N>,
  ): InternalAggregatingState<N, IN, OUT>

  /** The keys that have an entry in the named state under the namespace. */
  getKeys(stateName: string, namespace: unknown): IterableIterator<unknown>

  /** Calls `fn` with the current key set to each key of the named state in the namespace. */
  applyToAllKeys<N>(namespace: N, descriptor: StateDescriptor, fn: (key: unknown) => void): void

  /** Number of (key, namespace) entries over all states; for tests and metrics. */
  numEntries(): number

  /**
   * The full content now, per key group, written before it returns: the same bytes as
   * `beginSnapshot` followed by steps until done. It does not count as a pending snapshot.
   */
  snapshot(): KeyedStateSnapshot
  /**
   * Freezes the current content (cheap, synchronous) for serialization in steps. At most one pending
   * snapshot at a time: beginning another while one is pending throws. Writes through the state
   * handles (and restores) after this call do not reach the snapshot. An object stored in state and
   * then changed in place without going through a state handle is not protected, as in Flink: the
   * backend cannot see such a change.
   */
  beginSnapshot(): PendingKeyedSnapshot
  /**
   * Loads the key groups of this backend's range from snapshots taken at any parallelism (with the
   * same max parallelism). States are registered from the metadata and bound to descriptors on first use.
   */
  restore(snapshots: readonly KeyedStateSnapshot[]): void
  dispose(): void
}
