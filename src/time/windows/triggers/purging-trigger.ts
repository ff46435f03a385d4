import type { Window } from '../window.ts'
import { TriggerResult, type OnMergeContext, type Trigger, type TriggerContext } from './trigger.ts'

function purgeOnFire(result: TriggerResult): TriggerResult {
  return result === TriggerResult.FIRE ? TriggerResult.FIRE_AND_PURGE : result
}

/** Wraps a trigger and turns each of its FIREs into FIRE_AND_PURGE: every firing starts the window afresh. */
export class PurgingTrigger<T, W extends Window> implements Trigger<T, W> {
  private constructor(readonly nested: Trigger<T, W>) {}

  /** Purges whenever `nested` fires. */
  static of<T, W extends Window>(nested: Trigger<T, W>): PurgingTrigger<T, W> {
    return new PurgingTrigger(nested)
  }

  onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult {
    return purgeOnFire(this.nested.onElement(element, timestamp, window, ctx))
  }

  onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    return purgeOnFire(this.nested.onEventTime(time, window, ctx))
  }

  onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    return purgeOnFire(this.nested.onProcessingTime(time, window, ctx))
  }

  canMerge(): boolean {
    return this.nested.canMerge?.() ?? false
  }

  onMerge(window: W, ctx: OnMergeContext): void {
    this.nested.onMerge?.(window, ctx)
  }

  clear(window: W, ctx: TriggerContext): void {
    this.nested.clear(window, ctx)
  }

  toString(): string {
    return `PurgingTrigger(${String(this.nested)})`
  }
}
