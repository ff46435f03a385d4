import type { Collector } from '../operators/output.ts'
import type { RichFunction } from './functions.ts'
import type { OutputTag } from './output-tag.ts'
import type { RuntimeContext } from './runtime-context.ts'

/** Combines a pair of elements with equal keys (window join). */
export type JoinFunction<IN1, IN2, OUT> = ((first: IN1, second: IN2) => OUT) | (RichFunction & { join(first: IN1, second: IN2): OUT })

/** Gets all elements of both inputs with one key in one window (window co-group); either list may be empty. */
export type CoGroupFunction<IN1, IN2, OUT> =
  | ((first: IN1[], second: IN2[], out: Collector<OUT>) => void)
  | (RichFunction & { coGroup(first: IN1[], second: IN2[], out: Collector<OUT>): void })

/** What an interval join function sees of a joined pair. */
export interface ProcessJoinContext {
  /** Timestamp of the left element. */
  leftTimestamp(): number
  /** Timestamp of the right element. */
  rightTimestamp(): number
  /** Timestamp of the result: the larger of the two. */
  timestamp(): number
  /** Sends a record to a side output. */
  output<S>(tag: OutputTag<S>, value: S): void
}

/** Processes each pair of an interval join: elements with equal keys whose timestamps are close enough. */
export abstract class ProcessJoinFunction<IN1, IN2, OUT> implements RichFunction {
  open?(context: RuntimeContext): void
  close?(): void
  abstract processElement(left: IN1, right: IN2, ctx: ProcessJoinContext, out: Collector<OUT>): void
}

/** A `ProcessJoinFunction`, or just its `processElement` as a function. */
export type ProcessJoinFunctionLike<IN1, IN2, OUT> =
  | ProcessJoinFunction<IN1, IN2, OUT>
  | ((left: IN1, right: IN2, ctx: ProcessJoinContext, out: Collector<OUT>) => void)
