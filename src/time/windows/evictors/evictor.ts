import type { Window } from '../window.ts'

/** An element of an evicting window with its timestamp (NO_TIMESTAMP when it has none). */
export interface TimestampedValue<T> {
  readonly value: T
  readonly timestamp: number
}

/** The clocks, as an evictor sees them. */
export interface EvictorContext {
  currentProcessingTime(): number
  currentWatermark(): number
}

/**
 * Removes elements from a window when it fires, before and/or after the window function runs.
 * Evictors change `elements` in place (splice, or a filtering loop); what is left is kept in the
 * window. A window with an evictor keeps every element, so it cannot aggregate incrementally.
 */
export interface Evictor<T, W extends Window> {
  evictBefore(elements: TimestampedValue<T>[], window: W, ctx: EvictorContext): void
  evictAfter(elements: TimestampedValue<T>[], window: W, ctx: EvictorContext): void
}

/** Removes, in place and in order, the elements `drop` selects. */
export function removeWhere<T>(elements: TimestampedValue<T>[], drop: (element: TimestampedValue<T>) => boolean): void {
  let kept = 0
  for (const element of elements) if (!drop(element)) elements[kept++] = element
  elements.length = kept
}
