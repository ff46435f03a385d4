import type { Window } from '../window.ts'
import { TriggerResult, type Trigger } from './trigger.ts'

/** Never fires: the default of `GlobalWindows`, which needs a trigger of its own to emit anything. */
export class NeverTrigger implements Trigger<unknown, Window> {
  private static readonly instance = new NeverTrigger()

  private constructor() {}

  /** The (stateless, shared) trigger. */
  static create<W extends Window>(): Trigger<unknown, W> {
    return NeverTrigger.instance
  }

  onElement(): TriggerResult {
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

  onMerge(): void {}

  clear(): void {}

  toString(): string {
    return 'NeverTrigger()'
  }
}
