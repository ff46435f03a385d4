import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { requirePositive, requireTimestamp } from './assigner-checks.ts'
import { TimeWindow, timeWindowSerializer } from './time-window.ts'
import { EventTimeTrigger } from './triggers/event-time-trigger.ts'
import { ProcessingTimeTrigger } from './triggers/processing-time-trigger.ts'
import type { Trigger } from './triggers/trigger.ts'
import type { WindowAssigner, WindowAssignerContext } from './window-assigner.ts'

function checkOffset(size: number, offset: number, name: string): void {
  requirePositive(size, 'size', name)
  if (!(Math.abs(offset) < size)) throw new RangeError(`${name}: the offset must be smaller than the size in absolute value, got size ${size} and offset ${offset}`)
}

/**
 * Consecutive, non-overlapping windows of a fixed size in event time, aligned to the epoch plus
 * `offset` (an offset of -8 hours gives days in UTC+8).
 */
export class TumblingEventTimeWindows implements WindowAssigner<unknown, TimeWindow> {
  private constructor(
    readonly size: number,
    readonly offset: number,
  ) {}

  /** Windows of `sizeMs`, shifted by `offsetMs`. */
  static of(sizeMs: number, offsetMs = 0): TumblingEventTimeWindows {
    checkOffset(sizeMs, offsetMs, 'TumblingEventTimeWindows')
    return new TumblingEventTimeWindows(sizeMs, offsetMs)
  }

  assignWindows(_element: unknown, timestamp: number, _context?: WindowAssignerContext): TimeWindow[] {
    requireTimestamp(timestamp, 'TumblingEventTimeWindows')
    const start = TimeWindow.getWindowStartWithOffset(timestamp, this.offset, this.size)
    return [new TimeWindow(start, start + this.size)]
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create()
  }

  getWindowSerializer(): TypeSerializer<TimeWindow> {
    return timeWindowSerializer
  }

  isEventTime(): boolean {
    return true
  }

  toString(): string {
    return `TumblingEventTimeWindows(${this.size})`
  }
}

/** Consecutive, non-overlapping windows of a fixed size in processing time (the wall clock at arrival). */
export class TumblingProcessingTimeWindows implements WindowAssigner<unknown, TimeWindow> {
  private constructor(
    readonly size: number,
    readonly offset: number,
  ) {}

  /** Windows of `sizeMs`, shifted by `offsetMs`. */
  static of(sizeMs: number, offsetMs = 0): TumblingProcessingTimeWindows {
    checkOffset(sizeMs, offsetMs, 'TumblingProcessingTimeWindows')
    return new TumblingProcessingTimeWindows(sizeMs, offsetMs)
  }

  assignWindows(_element: unknown, _timestamp: number, context: WindowAssignerContext): TimeWindow[] {
    const now = context.currentProcessingTime()
    const start = TimeWindow.getWindowStartWithOffset(now, this.offset, this.size)
    return [new TimeWindow(start, start + this.size)]
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.create()
  }

  getWindowSerializer(): TypeSerializer<TimeWindow> {
    return timeWindowSerializer
  }

  isEventTime(): boolean {
    return false
  }

  toString(): string {
    return `TumblingProcessingTimeWindows(${this.size})`
  }
}
