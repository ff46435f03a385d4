import type { InternalAggregatingState, InternalListState, InternalReducingState } from '../../state/keyed-state-backend.ts'
import type { TimestampedValue } from '../../time/windows/evictors/evictor.ts'

/**
 * The window state of the current key, in the namespace of one (state) window: the elements, or
 * their incremental aggregate. `get` is undefined when the window holds nothing.
 */
export interface WindowContents<IN, ACC, W> {
  setWindow(window: W): void
  add(value: IN, timestamp: number): void
  get(): ACC | undefined
  clear(): void
  /** Folds the contents of `sources` into `target` (session windows merging). */
  merge(target: W, sources: readonly W[]): void
}

/** Every element, in arrival order. */
export function listContents<IN, W>(state: InternalListState<W, IN>): WindowContents<IN, IN[], W> {
  return {
    setWindow: (window) => state.setCurrentNamespace(window),
    add: (value) => state.add(value),
    get: () => {
      const elements = state.get()
      return elements.length === 0 ? undefined : elements
    },
    clear: () => state.clear(),
    merge: (target, sources) => state.mergeNamespaces(target, sources),
  }
}

/** Every element with its timestamp, for evictors. */
export function timestampedListContents<IN, W>(state: InternalListState<W, TimestampedValue<IN>>): WindowContents<IN, TimestampedValue<IN>[], W> {
  return {
    setWindow: (window) => state.setCurrentNamespace(window),
    add: (value, timestamp) => state.add({ value, timestamp }),
    get: () => {
      const elements = state.get()
      return elements.length === 0 ? undefined : elements
    },
    clear: () => state.clear(),
    merge: (target, sources) => state.mergeNamespaces(target, sources),
  }
}

/** One value per window, folded by a reduce or aggregate function as elements arrive. */
export function accumulatingContents<IN, ACC, W>(state: InternalReducingState<W, IN> | InternalAggregatingState<W, IN, ACC>): WindowContents<IN, ACC, W> {
  return {
    setWindow: (window) => state.setCurrentNamespace(window),
    add: (value) => state.add(value),
    get: () => state.get() as ACC | undefined,
    clear: () => state.clear(),
    merge: (target, sources) => state.mergeNamespaces(target, sources),
  }
}
