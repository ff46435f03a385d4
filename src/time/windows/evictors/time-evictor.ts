import { NO_TIMESTAMP } from '../../time.ts'
import type { Window } from '../window.ts'
import { removeWhere, type Evictor, type TimestampedValue } from './evictor.ts'

/**
 * Keeps the elements of the last `windowSize` milliseconds, measured back from the largest timestamp
 * in the window. Elements without timestamps are left alone.
 */
export class TimeEvictor implements Evictor<unknown, Window> {
  private constructor(
    readonly windowSize: number,
    readonly doEvictAfter: boolean,
  ) {}

  /** Evicts elements older than `windowSizeMs` before the largest timestamp. */
  static of<W extends Window>(windowSizeMs: number, doEvictAfter = false): Evictor<unknown, W> {
    if (!(windowSizeMs >= 0)) throw new RangeError(`TimeEvictor needs a window size >= 0, got ${windowSizeMs}`)
    return new TimeEvictor(windowSizeMs, doEvictAfter)
  }

  evictBefore(elements: TimestampedValue<unknown>[]): void {
    if (!this.doEvictAfter) this.evict(elements)
  }

  evictAfter(elements: TimestampedValue<unknown>[]): void {
    if (this.doEvictAfter) this.evict(elements)
  }

  private evict(elements: TimestampedValue<unknown>[]): void {
    if (elements.length === 0 || elements[0].timestamp === NO_TIMESTAMP) return
    let max = NO_TIMESTAMP
    for (const e of elements) if (e.timestamp > max) max = e.timestamp
    const cutoff = max - this.windowSize
    removeWhere(elements, (e) => e.timestamp <= cutoff)
  }

  toString(): string {
    return `TimeEvictor(${this.windowSize})`
  }
}
