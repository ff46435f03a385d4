import { MIN_WATERMARK } from './time.ts'

/** Where a watermark generator reports. */
export interface WatermarkOutput {
  emitWatermark(watermark: number): void
  /** No events for a while: downstream should not wait for this input. */
  markIdle(): void
  markActive(): void
}

/** Derives watermarks from events (punctuated) and/or periodically. */
export interface WatermarkGenerator<T> {
  onEvent(event: T, timestamp: number, output: WatermarkOutput): void
  /** Called every auto-watermark interval of processing time. */
  onPeriodicEmit(output: WatermarkOutput): void
}

/** Extracts the event-time timestamp (milliseconds) of a record. */
export type TimestampAssigner<T> = (event: T, recordTimestamp: number | undefined) => number

/** Bounded out-of-orderness: the watermark trails the largest timestamp seen by a fixed bound. */
export class BoundedOutOfOrdernessGenerator<T> implements WatermarkGenerator<T> {
  private maxTimestamp: number
  constructor(private readonly outOfOrdernessMs: number) {
    this.maxTimestamp = MIN_WATERMARK
  }
  onEvent(_event: T, timestamp: number): void {
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    // Minus one: a watermark t says no more events with timestamp <= t will come.
    if (this.maxTimestamp !== MIN_WATERMARK) output.emitWatermark(this.maxTimestamp - this.outOfOrdernessMs - 1)
  }
}

/** Generates no watermarks (processing time jobs, or event time set elsewhere). */
class NoWatermarksGenerator<T> implements WatermarkGenerator<T> {
  onEvent(): void {}
  onPeriodicEmit(): void {}
}

/**
 * How a source (or `assignTimestampsAndWatermarks`) stamps records and emits watermarks. Immutable:
 * the `with*` methods return a new strategy.
 */
export class WatermarkStrategy<T> {
  private constructor(
    readonly createGenerator: () => WatermarkGenerator<T>,
    readonly timestampAssigner: TimestampAssigner<T> | undefined,
    readonly idlenessMs: number | undefined,
    /** False for `noWatermarks`: the source then forwards no watermarks at all until it ends. */
    readonly generatesWatermarks: boolean,
  ) {}

  /** No event time. */
  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new NoWatermarksGenerator<T>(), undefined, undefined, false)
  }

  /** Timestamps never decrease: the watermark is the last timestamp (minus one). */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrdernessGenerator<T>(0), undefined, undefined, true)
  }

  /** Events arrive at most `maxOutOfOrdernessMs` late. */
  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!(maxOutOfOrdernessMs >= 0)) throw new RangeError(`maxOutOfOrdernessMs must be >= 0, got ${maxOutOfOrdernessMs}`)
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrdernessGenerator<T>(maxOutOfOrdernessMs), undefined, undefined, true)
  }

  /** A custom generator (periodic, punctuated, or both). */
  static forGenerator<T>(createGenerator: () => WatermarkGenerator<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(createGenerator, undefined, undefined, true)
  }

  /** Takes each record's timestamp from the record. */
  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.createGenerator, assigner, this.idlenessMs, this.generatesWatermarks)
  }

  /** Marks an input idle after `ms` without records, so it does not hold back the watermark. */
  withIdleness(ms: number): WatermarkStrategy<T> {
    if (!(ms > 0)) throw new RangeError(`idleness must be > 0 ms, got ${ms}`)
    return new WatermarkStrategy<T>(this.createGenerator, this.timestampAssigner, ms, this.generatesWatermarks)
  }
}
