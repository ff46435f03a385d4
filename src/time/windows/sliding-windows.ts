import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { requirePositive, requireTimestamp } from './assigner-checks.ts'
import { TimeWindow, timeWindowSerializer } from './time-window.ts'
import { EventTimeTrigger } from './triggers/event-time-trigger.ts'
import { ProcessingTimeTrigger } from './triggers/processing-time-trigger.ts'
import type { Trigger } from './triggers/trigger.ts'
import type { WindowAssigner, WindowAssignerContext } from './window-assigner.ts'

function checkSliding(size: number, slide: number, offset: number, name: string): void {
  requirePositive(size, 'size', name)
  requirePositive(slide, 'slide', name)
  if (!(Math.abs(offset) < slide)) throw new RangeError(`${name}: the offset must be smaller than the slide in absolute value, got slide ${slide} and offset ${offset}`)
}

/** The windows of `size` starting every `slide` that hold `time`, latest start first. */
function slidingWindows(time: number, size: number, slide: number, offset: number): TimeWindow[] {
  const windows: TimeWindow[] = []
  const lastStart = TimeWindow.getWindowStartWithOffset(time, offset, slide)
  for (let start = lastStart; start > time - size; start -= slide) windows.push(new TimeWindow(start, start + size))
  return windows
}

/** Windows of a fixed size starting every `slide` in event time; an element is in size/slide windows. */
export class SlidingEventTimeWindows implements WindowAssigner<unknown, TimeWindow> {
  private constructor(
    readonly size: number,
    readonly slide: number,
    readonly offset: number,
  ) {}

  /** Windows of `sizeMs` every `slideMs`, shifted by `offsetMs`. */
  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingEventTimeWindows {
    checkSliding(sizeMs, slideMs, offsetMs, 'SlidingEventTimeWindows')
    return new SlidingEventTimeWindows(sizeMs, slideMs, offsetMs)
  }

  assignWindows(_element: unknown, timestamp: number, _context?: WindowAssignerContext): TimeWindow[] {
    requireTimestamp(timestamp, 'SlidingEventTimeWindows')
    return slidingWindows(timestamp, this.size, this.slide, this.offset)
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
    return `SlidingEventTimeWindows(${this.size}, ${this.slide})`
  }
}

/** Windows of a fixed size starting every `slide` in processing time. */
export class SlidingProcessingTimeWindows implements WindowAssigner<unknown, TimeWindow> {
  private constructor(
    readonly size: number,
    readonly slide: number,
    readonly offset: number,
  ) {}

  /** Windows of `sizeMs` every `slideMs`, shifted by `offsetMs`. */
  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingProcessingTimeWindows {
    checkSliding(sizeMs, slideMs, offsetMs, 'SlidingProcessingTimeWindows')
    return new SlidingProcessingTimeWindows(sizeMs, slideMs, offsetMs)
  }

  assignWindows(_element: unknown, _timestamp: number, context: WindowAssignerContext): TimeWindow[] {
    return slidingWindows(context.currentProcessingTime(), this.size, this.slide, this.offset)
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
    return `SlidingProcessingTimeWindows(${this.size}, ${this.slide})`
  }
}
