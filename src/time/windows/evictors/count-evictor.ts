import type { Window } from '../window.ts'
import type { Evictor, TimestampedValue } from './evictor.ts'

/** Keeps at most `maxCount` elements in a window: the most recently added ones. */
export class CountEvictor implements Evictor<unknown, Window> {
  private constructor(
    readonly maxCount: number,
    readonly doEvictAfter: boolean,
  ) {}

  /** Evicts down to `maxCount` elements, before the window function (or after it, if `doEvictAfter`). */
  static of<W extends Window>(maxCount: number, doEvictAfter = false): Evictor<unknown, W> {
    if (!Number.isInteger(maxCount) || maxCount < 0) throw new RangeError(`CountEvictor needs a count >= 0, got ${maxCount}`)
    return new CountEvictor(maxCount, doEvictAfter)
  }

  evictBefore(elements: TimestampedValue<unknown>[]): void {
    if (!this.doEvictAfter) this.evict(elements)
  }

  evictAfter(elements: TimestampedValue<unknown>[]): void {
    if (this.doEvictAfter) this.evict(elements)
  }

  private evict(elements: TimestampedValue<unknown>[]): void {
    if (elements.length > this.maxCount) elements.splice(0, elements.length - this.maxCount)
  }

  toString(): string {
    return `CountEvictor(${this.maxCount})`
  }
}
