import type { Collector } from '../operators/output.ts'
import type { Window } from '../time/windows/window.ts'
import type { RichFunction } from './functions.ts'
import type { OutputTag } from './output-tag.ts'
import type { KeyedStateStore, RuntimeContext } from './runtime-context.ts'

/** What a window function sees of the window it evaluates. */
export interface ProcessWindowContext<W extends Window> {
  readonly window: W
  currentProcessingTime(): number
  currentWatermark(): number
  /**
   * State of this key in this window; clear it in `clear`, it is not removed with the window. Not
   * available for merging (session) windows.
   */
  windowState(): KeyedStateStore
  /** State of this key across all its windows. */
  globalState(): KeyedStateStore
  /** Sends a record to a side output (stamped with the window's max timestamp). */
  output<S>(tag: OutputTag<S>, value: S): void
}

/**
 * Evaluates a window: gets every element (or, after `reduce`/`aggregate`, the one pre-aggregated
 * value) with the key and the window. Emitted records carry the window's max timestamp.
 */
export abstract class ProcessWindowFunction<IN, OUT, K, W extends Window> implements RichFunction {
  open?(context: RuntimeContext): void
  close?(): void
  abstract process(key: K, context: ProcessWindowContext<W>, elements: IN[], out: Collector<OUT>): void
  /** The window is being dropped: clear what `windowState()` holds for it. */
  clear?(context: ProcessWindowContext<W>): void
}

/** A `ProcessWindowFunction`, or just its `process` as a function. */
export type ProcessWindowFunctionLike<IN, OUT, K, W extends Window> =
  | ProcessWindowFunction<IN, OUT, K, W>
  | ((key: K, context: ProcessWindowContext<W>, elements: IN[], out: Collector<OUT>) => void)
