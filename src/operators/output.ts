import type { OutputTag } from '../api/output-tag.ts'

/** Where an operator sends what it produces: records with timestamps, watermarks, side outputs. */
export interface Output<T> {
  collect(value: T, timestamp: number): void
  collectSide<S>(tag: OutputTag<S>, value: S, timestamp: number): void
  emitWatermark(watermark: number): void
}

/** The user-facing collector: what `flatMap` and process functions write to. */
export interface Collector<T> {
  collect(value: T): void
}
