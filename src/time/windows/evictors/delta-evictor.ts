import type { Window } from '../window.ts'
import { removeWhere, type Evictor, type TimestampedValue } from './evictor.ts'

/** The distance between two elements, for `DeltaEvictor`. */
export type DeltaFunction<T> = (a: T, b: T) => number

/** Evicts the elements whose delta to the last element is at least `threshold`. */
export class DeltaEvictor<T> implements Evictor<T, Window> {
  private constructor(
    readonly threshold: number,
    private readonly delta: DeltaFunction<T>,
    readonly doEvictAfter: boolean,
  ) {}

  /** Evicts elements at least `threshold` away (by `delta`) from the newest element. */
  static of<T, W extends Window>(threshold: number, delta: DeltaFunction<T>, doEvictAfter = false): Evictor<T, W> {
    return new DeltaEvictor(threshold, delta, doEvictAfter)
  }

  evictBefore(elements: TimestampedValue<T>[]): void {
    if (!this.doEvictAfter) this.evict(elements)
  }

  evictAfter(elements: TimestampedValue<T>[]): void {
    if (this.doEvictAfter) this.evict(elements)
  }

  private evict(elements: TimestampedValue<T>[]): void {
    if (elements.length === 0) return
    const last = elements[elements.length - 1].value
    removeWhere(elements, (e) => this.delta(e.value, last) >= this.threshold)
  }

  toString(): string {
    return `DeltaEvictor(${this.threshold})`
  }
}
