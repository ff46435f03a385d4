import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { GlobalWindow, globalWindowSerializer } from './global-window.ts'
import { NeverTrigger } from './triggers/never-trigger.ts'
import type { Trigger } from './triggers/trigger.ts'
import type { WindowAssigner, WindowAssignerContext } from './window-assigner.ts'

/**
 * Puts every element of a key into one global window. It never fires by default: give it a trigger
 * (count windows use a count trigger).
 */
export class GlobalWindows implements WindowAssigner<unknown, GlobalWindow> {
  private static readonly instance = new GlobalWindows()

  private constructor() {}

  /** The assigner. */
  static create(): GlobalWindows {
    return GlobalWindows.instance
  }

  assignWindows(_element?: unknown, _timestamp?: number, _context?: WindowAssignerContext): GlobalWindow[] {
    return [GlobalWindow.get()]
  }

  getDefaultTrigger(): Trigger<unknown, GlobalWindow> {
    return NeverTrigger.create()
  }

  getWindowSerializer(): TypeSerializer<GlobalWindow> {
    return globalWindowSerializer
  }

  isEventTime(): boolean {
    return false
  }

  toString(): string {
    return 'GlobalWindows()'
  }
}
