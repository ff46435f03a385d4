import type { TimeWindow } from '../time-window.ts'
import type { Window } from '../window.ts'
import { TriggerResult, type OnMergeContext, type Trigger, type TriggerContext } from './trigger.ts'

/** Fires once the wall clock passes the end of the window: the default of processing-time assigners. */
export class ProcessingTimeTrigger implements Trigger<unknown, Window> {
  private static readonly instance = new ProcessingTimeTrigger()

  private constructor() {}

  /** The (stateless, shared) trigger. */
  static create<W extends Window = TimeWindow>(): Trigger<unknown, W> {
    return ProcessingTimeTrigger.instance
  }

  onElement(_element: unknown, _timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(window.maxTimestamp())
    return TriggerResult.CONTINUE
  }

  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }

  onProcessingTime(): TriggerResult {
    return TriggerResult.FIRE
  }

  canMerge(): boolean {
    return true
  }

  onMerge(window: Window, ctx: OnMergeContext): void {
    if (window.maxTimestamp() > ctx.currentProcessingTime()) ctx.registerProcessingTimeTimer(window.maxTimestamp())
  }

  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(window.maxTimestamp())
  }

  toString(): string {
    return 'ProcessingTimeTrigger()'
  }
}
