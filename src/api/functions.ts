import type { Collector } from '../operators/output.ts'
import type { FunctionInitializationContext, FunctionSnapshotContext, RuntimeContext } from './runtime-context.ts'

/** Life-cycle hooks any user function may have. */
export interface RichFunction {
  /** Called once per subtask before the first record; get state handles here. */
  open?(context: RuntimeContext): void
  close?(): void
}

/** A function that keeps operator state of its own (offsets, buffers) in checkpoints. */
export interface CheckpointedFunction {
  initializeState(context: FunctionInitializationContext): void
  snapshotState(context: FunctionSnapshotContext): void
}

/** Turns each record into one record. */
export type MapFunction<IN, OUT> = ((value: IN) => OUT) | (RichFunction & { map(value: IN): OUT })

/** Keeps the records for which it returns true. */
export type FilterFunction<T> = ((value: T) => boolean) | (RichFunction & { filter(value: T): boolean })

/** Turns each record into zero or more records. */
export type FlatMapFunction<IN, OUT> =
  | ((value: IN, out: Collector<OUT>) => void)
  | (RichFunction & { flatMap(value: IN, out: Collector<OUT>): void })

/** Folds two values of a key into one. */
export type ReduceFunction<T> = ((a: T, b: T) => T) | (RichFunction & { reduce(a: T, b: T): T })

/** Timers and the clocks, for functions on keyed streams. */
export interface TimerService {
  currentProcessingTime(): number
  currentWatermark(): number
  registerEventTimeTimer(time: number): void
  registerProcessingTimeTimer(time: number): void
  deleteEventTimeTimer(time: number): void
  deleteProcessingTimeTimer(time: number): void
}

/** What a process function sees of the record it processes. */
export interface ProcessContext {
  /** The record's event-time timestamp, or undefined when it has none. */
  timestamp(): number | undefined
  /** Sends a record to a side output. */
  output<S>(tag: import('./output-tag.ts').OutputTag<S>, value: S): void
  timerService(): TimerService
}

/** Context of a keyed process function: also the current key. */
export interface KeyedProcessContext<K> extends ProcessContext {
  getCurrentKey(): K
}

/** Context of a firing timer. */
export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  timeDomain(): 'event-time' | 'processing-time'
}

/** Processes each record of a (non-keyed) stream, with side outputs. */
export abstract class ProcessFunction<IN, OUT> implements RichFunction {
  open?(context: RuntimeContext): void
  close?(): void
  abstract processElement(value: IN, ctx: ProcessContext, out: Collector<OUT>): void
}

/** Processes each record of a keyed stream, with keyed state and timers. */
export abstract class KeyedProcessFunction<K, IN, OUT> implements RichFunction {
  open?(context: RuntimeContext): void
  close?(): void
  abstract processElement(value: IN, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void
}

/** Processes two connected streams, one method each. */
export abstract class CoProcessFunction<IN1, IN2, OUT> implements RichFunction {
  open?(context: RuntimeContext): void
  close?(): void
  abstract processElement1(value: IN1, ctx: ProcessContext, out: Collector<OUT>): void
  abstract processElement2(value: IN2, ctx: ProcessContext, out: Collector<OUT>): void
}

/** Processes two connected keyed streams (keyed state and timers on both sides). */
export abstract class KeyedCoProcessFunction<K, IN1, IN2, OUT> implements RichFunction {
  open?(context: RuntimeContext): void
  close?(): void
  abstract processElement1(value: IN1, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void
  abstract processElement2(value: IN2, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void
}
