import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { Trigger } from './triggers/trigger.ts'
import type { Window } from './window.ts'

/** What an assigner may read while it assigns windows. */
export interface WindowAssignerContext {
  currentProcessingTime(): number
}

/**
 * Puts each element into zero or more windows. Assigners are shared by every subtask and must hold
 * no per-element state.
 */
export interface WindowAssigner<T, W extends Window> {
  /** The windows the element belongs to; `timestamp` is its event time (or NO_TIMESTAMP). */
  assignWindows(element: T, timestamp: number, context: WindowAssignerContext): W[]
  /** The trigger used when the job sets none. */
  getDefaultTrigger(): Trigger<T, W>
  /** Writes windows as namespaces of state and timers. */
  getWindowSerializer(): TypeSerializer<W>
  /** True for event time: then lateness and the watermark apply to the windows. */
  isEventTime(): boolean
}

/** An assigner whose windows can grow into each other (session windows). */
export interface MergingWindowAssigner<T, W extends Window> extends WindowAssigner<T, W> {
  /** Reports each set of windows that should become one, with the window they become. */
  mergeWindows(windows: readonly W[], callback: (toBeMerged: W[], mergeResult: W) => void): void
}

/** Whether an assigner merges windows. */
export function isMergingAssigner<T, W extends Window>(assigner: WindowAssigner<T, W>): assigner is MergingWindowAssigner<T, W> {
  return typeof (assigner as Partial<MergingWindowAssigner<T, W>>).mergeWindows === 'function'
}
