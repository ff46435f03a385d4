import { Types } from '../../../api/serialization/types.ts'
import { ReducingStateDescriptor } from '../../../state/descriptors.ts'
import type { Window } from '../window.ts'
import { TriggerResult, type OnMergeContext, type Trigger, type TriggerContext } from './trigger.ts'

/** Fires each time `maxCount` elements have arrived in a window since it last fired. */
export class CountTrigger implements Trigger<unknown, Window> {
  private readonly countDescriptor = new ReducingStateDescriptor<number>('count', (a, b) => a + b, Types.number)

  private constructor(readonly maxCount: number) {}

  /** A trigger that fires every `maxCount` elements. */
  static of<W extends Window>(maxCount: number): Trigger<unknown, W> {
    if (!Number.isInteger(maxCount) || maxCount < 1) throw new RangeError(`CountTrigger needs a positive integer count, got ${maxCount}`)
    return new CountTrigger(maxCount)
  }

  onElement(_element: unknown, _timestamp: number, _window: Window, ctx: TriggerContext): TriggerResult {
    const count = ctx.getPartitionedState(this.countDescriptor)
    count.add(1)
    if ((count.get() ?? 0) >= this.maxCount) {
      count.clear()
      return TriggerResult.FIRE
    }
    return TriggerResult.CONTINUE
  }

  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }

  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }

  canMerge(): boolean {
    return true
  }

  onMerge(_window: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.countDescriptor)
  }

  clear(_window: Window, ctx: TriggerContext): void {
    ctx.getPartitionedState(this.countDescriptor).clear()
  }

  toString(): string {
    return `CountTrigger(${this.maxCount})`
  }
}
