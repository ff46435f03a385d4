import { Types } from '../../../api/serialization/types.ts'
import { ReducingStateDescriptor } from '../../../state/descriptors.ts'
import type { ReducingState } from '../../../state/state.ts'
import type { Window } from '../window.ts'
import { mod } from './continuous-event-time-trigger.ts'
import { TriggerResult, type OnMergeContext, type Trigger, type TriggerContext } from './trigger.ts'

/** Fires every `interval` of processing time, aligned to the epoch, while the window has contents. */
export class ContinuousProcessingTimeTrigger implements Trigger<unknown, Window> {
  private readonly fireTimeDescriptor = new ReducingStateDescriptor<number>('fire-time', Math.min, Types.number)

  private constructor(readonly interval: number) {}

  /** A trigger firing every `intervalMs` of processing time. */
  static of<W extends Window>(intervalMs: number): Trigger<unknown, W> {
    if (!(intervalMs > 0)) throw new RangeError(`ContinuousProcessingTimeTrigger needs a positive interval, got ${intervalMs}`)
    return new ContinuousProcessingTimeTrigger(intervalMs)
  }

  onElement(_element: unknown, _timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    const fireTime = ctx.getPartitionedState(this.fireTimeDescriptor)
    if (fireTime.get() === undefined) {
      const now = ctx.currentProcessingTime()
      this.registerNext(now - mod(now, this.interval), window, ctx, fireTime)
    }
    return TriggerResult.CONTINUE
  }

  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }

  onProcessingTime(time: number, window: Window, ctx: TriggerContext): TriggerResult {
    const fireTime = ctx.getPartitionedState(this.fireTimeDescriptor)
    if (fireTime.get() !== time) return TriggerResult.CONTINUE
    fireTime.clear()
    // At the window's end the window is cleaned up; a timer at that same time again would loop.
    if (time < window.maxTimestamp()) this.registerNext(time, window, ctx, fireTime)
    return TriggerResult.FIRE
  }

  private registerNext(time: number, window: Window, ctx: TriggerContext, fireTime: ReducingState<number>): void {
    const next = Math.min(time + this.interval, window.maxTimestamp())
    fireTime.add(next)
    ctx.registerProcessingTimeTimer(next)
  }

  canMerge(): boolean {
    return true
  }

  onMerge(_window: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.fireTimeDescriptor)
    const next = ctx.getPartitionedState(this.fireTimeDescriptor).get()
    if (next !== undefined) ctx.registerProcessingTimeTimer(next)
  }

  clear(_window: Window, ctx: TriggerContext): void {
    const fireTime = ctx.getPartitionedState(this.fireTimeDescriptor)
    const next = fireTime.get()
    if (next !== undefined) {
      ctx.deleteProcessingTimeTimer(next)
      fireTime.clear()
    }
  }

  toString(): string {
    return `ContinuousProcessingTimeTrigger(${this.interval})`
  }
}
