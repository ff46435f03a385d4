import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { StateError } from '../../errors.ts'
import type { StateDescriptor } from '../../state/descriptors.ts'
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../../state/descriptors.ts'
import type { KeyedStateBackend, MergeableState } from '../../state/keyed-state-backend.ts'
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../../state/state.ts'
import type { InternalTimerService } from '../../time/timer-service.ts'
import type { OnMergeContext, Trigger, TriggerResult } from '../../time/windows/triggers/trigger.ts'
import type { Window } from '../../time/windows/window.ts'
import { namespacedState } from './namespaced-state.ts'

/**
 * The trigger's view of the operator for one key and window at a time: the operator points
 * `window` at the window in question before each trigger call. Trigger state lives in the
 * namespace of the window itself (not its state window), and merges with the windows.
 */
export class WindowTriggerContext<T, W extends Window> implements OnMergeContext {
  window!: W
  private mergedWindows: readonly W[] = []

  constructor(
    private readonly trigger: Trigger<T, W>,
    private readonly backend: KeyedStateBackend,
    private readonly timers: InternalTimerService<W>,
    private readonly windowSerializer: TypeSerializer<W>,
  ) {}

  currentProcessingTime(): number {
    return this.timers.currentProcessingTime()
  }

  currentWatermark(): number {
    return this.timers.currentWatermark()
  }

  registerProcessingTimeTimer(time: number): void {
    this.timers.registerProcessingTimeTimer(this.window, time)
  }

  registerEventTimeTimer(time: number): void {
    this.timers.registerEventTimeTimer(this.window, time)
  }

  deleteProcessingTimeTimer(time: number): void {
    this.timers.deleteProcessingTimeTimer(this.window, time)
  }

  deleteEventTimeTimer(time: number): void {
    this.timers.deleteEventTimeTimer(this.window, time)
  }

  getPartitionedState<V>(descriptor: ValueStateDescriptor<V>): ValueState<V>
  getPartitionedState<V>(descriptor: ListStateDescriptor<V>): ListState<V>
  getPartitionedState<UK, UV>(descriptor: MapStateDescriptor<UK, UV>): MapState<UK, UV>
  getPartitionedState<V>(descriptor: ReducingStateDescriptor<V>): ReducingState<V>
  getPartitionedState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>
  getPartitionedState(descriptor: StateDescriptor): unknown {
    return namespacedState(this.backend, descriptor, this.windowSerializer, this.window)
  }

  mergePartitionedState<V>(descriptor: ListStateDescriptor<V>): void
  mergePartitionedState<V>(descriptor: ReducingStateDescriptor<V>): void
  mergePartitionedState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): void
  mergePartitionedState(descriptor: StateDescriptor): void {
    if (this.mergedWindows.length === 0) return
    if (descriptor.kind !== 'list' && descriptor.kind !== 'reducing' && descriptor.kind !== 'aggregating') {
      throw new StateError(`Trigger state '${descriptor.name}' is a ${descriptor.kind} state, which cannot be merged; use a list, reducing or aggregating state`)
    }
    const state = namespacedState(this.backend, descriptor, this.windowSerializer, this.window) as MergeableState<W>
    state.mergeNamespaces(this.window, this.mergedWindows)
  }

  onElement(element: T, timestamp: number): TriggerResult {
    return this.trigger.onElement(element, timestamp, this.window, this)
  }

  onEventTime(time: number): TriggerResult {
    return this.trigger.onEventTime(time, this.window, this)
  }

  onProcessingTime(time: number): TriggerResult {
    return this.trigger.onProcessingTime(time, this.window, this)
  }

  /** `window` is the merge result; `merged` are the windows that went into it. */
  onMerge(merged: readonly W[]): void {
    this.mergedWindows = merged
    try {
      this.trigger.onMerge?.(this.window, this)
    } finally {
      this.mergedWindows = []
    }
  }

  clear(): void {
    this.trigger.clear(this.window, this)
  }
}
