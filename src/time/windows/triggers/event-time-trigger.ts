import type { TimeWindow } from '../time-window.ts'
import type { Window } from '../window.ts'
import { TriggerResult, type OnMergeContext, type Trigger, type TriggerContext } from './trigger.ts'

/** Fires once the watermark passes the end of the window: the default of event-time assigners. */
export class EventTimeTrigger implements Trigger<unknown, Window> {
  private static readonly instance = new EventTimeTrigger()

  private constructor() {}

  /** The (stateless, shared) trigger. */
  static create<W extends Window = TimeWindow>(): Trigger<unknown, W> {
    return EventTimeTrigger.instance
  }

  onElement(_element: unknown, _timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    // A late element within the allowed lateness: the window already fired, so fire it again now.
    if (window.maxTimestamp() <= ctx.currentWatermark()) return TriggerResult.FIRE
    ctx.registerEventTimeTimer(window.maxTimestamp())
    return TriggerResult.CONTINUE
  }

  onEventTime(time: number, window: Window): TriggerResult {
    return time === window.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE
  }

  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }

  canMerge(): boolean {
    return true
  }

  onMerge(window: Window, ctx: OnMergeContext): void {
    // The merged windows' timers were deleted; a window already past the watermark fires by its cleanup.
    if (window.maxTimestamp() > ctx.currentWatermark()) ctx.registerEventTimeTimer(window.maxTimestamp())
  }

  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(window.maxTimestamp())
  }

  toString(): string {
    return 'EventTimeTrigger()'
  }
}
