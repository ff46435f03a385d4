import { Types } from '../../../api/serialization/types.ts'
import { ReducingStateDescriptor } from '../../../state/descriptors.ts'
import type { ReducingState } from '../../../state/state.ts'
import type { Window } from '../window.ts'
import { TriggerResult, type OnMergeContext, type Trigger, type TriggerContext } from './trigger.ts'

/**
 * Fires every `interval` of event time while the window is open (early results), and at the end of
 * the window.
 */
export class ContinuousEventTimeTrigger implements Trigger<unknown, Window> {
  // Merged windows keep the earliest pending firing.
  private readonly fireTimeDescriptor = new ReducingStateDescriptor<number>('fire-time', Math.min, Types.number)

  private constructor(readonly interval: number) {}

  /** A trigger firing every `intervalMs` of event time. */
  static of<W extends Window>(intervalMs: number): Trigger<unknown, W> {
    if (!(intervalMs > 0)) throw new RangeError(`ContinuousEventTimeTrigger needs a positive interval, got ${intervalMs}`)
    return new ContinuousEventTimeTrigger(intervalMs)
  }

  onElement(_element: unknown, timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.currentWatermark()) return TriggerResult.FIRE
    ctx.registerEventTimeTimer(window.maxTimestamp())
    const fireTime = ctx.getPartitionedState(this.fireTimeDescriptor)
    if (fireTime.get() === undefined) this.registerNext(timestamp - mod(timestamp, this.interval), window, ctx, fireTime)
    return TriggerResult.CONTINUE
  }

  onEventTime(time: number, window: Window, ctx: TriggerContext): TriggerResult {
    if (time === window.maxTimestamp()) return TriggerResult.FIRE
    const fireTime = ctx.getPartitionedState(this.fireTimeDescriptor)
    if (fireTime.get() === time) {
      fireTime.clear()
      this.registerNext(time, window, ctx, fireTime)
      return TriggerResult.FIRE
    }
    return TriggerResult.CONTINUE
  }

  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }

  private registerNext(time: number, window: Window, ctx: TriggerContext, fireTime: ReducingState<number>): void {
    const next = Math.min(time + this.interval, window.maxTimestamp())
    fireTime.add(next)
    ctx.registerEventTimeTimer(next)
  }

  canMerge(): boolean {
    return true
  }

  onMerge(_window: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.fireTimeDescriptor)
    const next = ctx.getPartitionedState(this.fireTimeDescriptor).get()
    if (next !== undefined) ctx.registerEventTimeTimer(next)
  }

  clear(_window: Window, ctx: TriggerContext): void {
    const fireTime = ctx.getPartitionedState(this.fireTimeDescriptor)
    const next = fireTime.get()
    if (next !== undefined) {
      ctx.deleteEventTimeTimer(next)
      fireTime.clear()
    }
  }

  toString(): string {
    return `ContinuousEventTimeTrigger(${this.interval})`
  }
}

/** A remainder that is never negative, so timestamps before the epoch align downwards too. */
export function mod(value: number, divisor: number): number {
  const r = value % divisor
  return r < 0 ? r + divisor : r
}
