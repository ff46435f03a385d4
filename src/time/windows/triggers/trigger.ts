import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../../../state/descriptors.ts'
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../../../state/state.ts'
import type { Window } from '../window.ts'

/** What a trigger tells the window operator to do with a window. */
export const TriggerResult = {
  /** Nothing. */
  CONTINUE: 'continue',
  /** Evaluate the window function and emit its result; the contents stay. */
  FIRE: 'fire',
  /** Drop the contents without emitting. */
  PURGE: 'purge',
  /** Emit, then drop the contents. */
  FIRE_AND_PURGE: 'fire-and-purge',
} as const

/** One of the `TriggerResult` values. */
export type TriggerResult = (typeof TriggerResult)[keyof typeof TriggerResult]

/** Whether the window function should run. */
export function isFire(result: TriggerResult): boolean {
  return result === TriggerResult.FIRE || result === TriggerResult.FIRE_AND_PURGE
}

/** Whether the window contents should be dropped. */
export function isPurge(result: TriggerResult): boolean {
  return result === TriggerResult.PURGE || result === TriggerResult.FIRE_AND_PURGE
}

/** Per-window state of a trigger (kept per key and window, merged when windows merge). */
export interface PartitionedStateStore {
  getPartitionedState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>
  getPartitionedState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  getPartitionedState<UK, UV>(descriptor: MapStateDescriptor<UK, UV>): MapState<UK, UV>
  getPartitionedState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>
  getPartitionedState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>
}

/** What a trigger may do: read the clocks, set timers for the current window, keep state. */
export interface TriggerContext extends PartitionedStateStore {
  currentProcessingTime(): number
  currentWatermark(): number
  /** Calls `onProcessingTime` for this key and window when the wall clock reaches `time`. */
  registerProcessingTimeTimer(time: number): void
  /** Calls `onEventTime` for this key and window when the watermark reaches `time`. */
  registerEventTimeTimer(time: number): void
  deleteProcessingTimeTimer(time: number): void
  deleteEventTimeTimer(time: number): void
}

/** The context of `onMerge`: also folds the merged windows' trigger state into the new window. */
export interface OnMergeContext extends TriggerContext {
  mergePartitionedState<T>(descriptor: ListStateDescriptor<T>): void
  mergePartitionedState<T>(descriptor: ReducingStateDescriptor<T>): void
  mergePartitionedState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): void
}

/**
 * Decides when a window fires and when it is purged. A trigger is shared by every key and window of
 * an operator: it must keep what it needs in partitioned state, not in fields. Timers a trigger sets
 * call it back for the same key and window.
 */
export interface Trigger<T, W extends Window> {
  /** Called for every element added to a window. */
  onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult
  /** An event-time timer this trigger set fired. */
  onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult
  /** A processing-time timer this trigger set fired. */
  onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult
  /** Whether the trigger supports merging windows (session windows need it). */
  canMerge?(): boolean
  /** Windows were merged into `window`: merge state and set timers for the result. */
  onMerge?(window: W, ctx: OnMergeContext): void
  /** The window is gone: delete the timers and state this trigger kept for it. */
  clear(window: W, ctx: TriggerContext): void
}
