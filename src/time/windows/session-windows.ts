import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { requirePositive, requireTimestamp } from './assigner-checks.ts'
import { TimeWindow, timeWindowSerializer } from './time-window.ts'
import { EventTimeTrigger } from './triggers/event-time-trigger.ts'
import { ProcessingTimeTrigger } from './triggers/processing-time-trigger.ts'
import type { Trigger } from './triggers/trigger.ts'
import type { MergingWindowAssigner, WindowAssignerContext } from './window-assigner.ts'

/** Gives the session gap (milliseconds) that follows an element. */
export type SessionWindowTimeGapExtractor<T> = (element: T) => number

function gapOf<T>(extractor: SessionWindowTimeGapExtractor<T>, element: T, name: string): number {
  const gap = extractor(element)
  requirePositive(gap, 'gap the extractor returned', name)
  return gap
}

/**
 * Sessions in event time: each element opens a window `[t, t + gap)` and overlapping or touching
 * windows of a key merge, so a session ends after `gap` without elements.
 */
export class EventTimeSessionWindows<T = unknown> implements MergingWindowAssigner<T, TimeWindow> {
  private constructor(private readonly gap: SessionWindowTimeGapExtractor<T>) {}

  /** Sessions separated by at least `gapMs` of inactivity. */
  static withGap(gapMs: number): EventTimeSessionWindows {
    requirePositive(gapMs, 'gap', 'EventTimeSessionWindows')
    return new EventTimeSessionWindows(() => gapMs)
  }

  /** Sessions whose gap each element decides. */
  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): EventTimeSessionWindows<T> {
    return new EventTimeSessionWindows(extractor)
  }

  assignWindows(element: T, timestamp: number, _context?: WindowAssignerContext): TimeWindow[] {
    requireTimestamp(timestamp, 'EventTimeSessionWindows')
    return [new TimeWindow(timestamp, timestamp + gapOf(this.gap, element, 'EventTimeSessionWindows'))]
  }

  mergeWindows(windows: readonly TimeWindow[], callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void): void {
    TimeWindow.mergeWindows(windows, callback)
  }

  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return EventTimeTrigger.create()
  }

  getWindowSerializer(): TypeSerializer<TimeWindow> {
    return timeWindowSerializer
  }

  isEventTime(): boolean {
    return true
  }

  toString(): string {
    return 'EventTimeSessionWindows()'
  }
}

/** Sessions in processing time: a session ends after `gap` of wall-clock time without elements. */
export class ProcessingTimeSessionWindows<T = unknown> implements MergingWindowAssigner<T, TimeWindow> {
  private constructor(private readonly gap: SessionWindowTimeGapExtractor<T>) {}

  /** Sessions separated by at least `gapMs` of inactivity. */
  static withGap(gapMs: number): ProcessingTimeSessionWindows {
    requirePositive(gapMs, 'gap', 'ProcessingTimeSessionWindows')
    return new ProcessingTimeSessionWindows(() => gapMs)
  }

  /** Sessions whose gap each element decides. */
  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): ProcessingTimeSessionWindows<T> {
    return new ProcessingTimeSessionWindows(extractor)
  }

  assignWindows(element: T, _timestamp: number, context: WindowAssignerContext): TimeWindow[] {
    const now = context.currentProcessingTime()
    return [new TimeWindow(now, now + gapOf(this.gap, element, 'ProcessingTimeSessionWindows'))]
  }

  mergeWindows(windows: readonly TimeWindow[], callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void): void {
    TimeWindow.mergeWindows(windows, callback)
  }

  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return ProcessingTimeTrigger.create()
  }

  getWindowSerializer(): TypeSerializer<TimeWindow> {
    return timeWindowSerializer
  }

  isEventTime(): boolean {
    return false
  }

  toString(): string {
    return 'ProcessingTimeSessionWindows()'
  }
}
