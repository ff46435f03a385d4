import type { Cancellable } from '../time/processing-time-service.ts'
import { MAX_WATERMARK, MIN_WATERMARK, NO_TIMESTAMP } from '../time/time.ts'
import type { TimestampAssigner, WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from '../time/watermark-strategy.ts'
import { AbstractStreamOperator } from './abstract-stream-operator.ts'
import type { OneInputStreamOperator } from './stream-operator.ts'

/** Default interval of periodic watermarks, as Flink's `autoWatermarkInterval`. */
export const DEFAULT_AUTO_WATERMARK_INTERVAL_MS = 200

/**
 * `assignTimestampsAndWatermarks` in the middle of a stream: re-stamps each record and generates
 * watermarks with the strategy's generator, periodically and/or per event. Watermarks from upstream
 * are dropped, as they would contradict the new timestamps, except the final one that ends event time.
 * Idleness cannot be reported from inside a chain, so `markIdle` has no effect here.
 */
export class TimestampsAndWatermarksOperator<T> extends AbstractStreamOperator<T> implements OneInputStreamOperator<T, T> {
  private generator!: WatermarkGenerator<T>
  private assigner: TimestampAssigner<T> | undefined
  private wmOutput!: WatermarkOutput
  private lastWatermark = MIN_WATERMARK
  private periodic: Cancellable | undefined
  private ended = false

  constructor(
    private readonly strategy: WatermarkStrategy<T>,
    private readonly intervalMs = DEFAULT_AUTO_WATERMARK_INTERVAL_MS,
  ) {
    super()
  }

  override open(): void {
    this.generator = this.strategy.createGenerator()
    this.assigner = this.strategy.timestampAssigner
    this.wmOutput = {
      emitWatermark: (watermark) => this.emit(watermark),
      markIdle: () => {},
      markActive: () => {},
    }
    if (this.strategy.generatesWatermarks && this.intervalMs > 0) this.schedulePeriodic()
  }

  private schedulePeriodic(): void {
    const clock = this.ctx.processingTime
    this.periodic = clock.schedule(clock.now() + this.intervalMs, () => {
      if (this.ended) return
      this.generator.onPeriodicEmit(this.wmOutput)
      this.schedulePeriodic()
    })
  }

  private emit(watermark: number): void {
    if (watermark <= this.lastWatermark) return
    this.lastWatermark = watermark
    this.currentWatermark = watermark
    this.output.emitWatermark(watermark)
  }

  processElement(value: T, timestamp: number): void {
    const ts = this.assigner ? this.assigner(value, timestamp === NO_TIMESTAMP ? undefined : timestamp) : timestamp
    this.output.collect(value, ts)
    this.generator.onEvent(value, ts, this.wmOutput)
  }

  override processWatermark(watermark: number): void {
    if (watermark === MAX_WATERMARK) this.emit(MAX_WATERMARK)
  }

  override finish(): void {
    this.ended = true
    this.periodic?.cancel()
    // The generator's last word, so a bounded input's final watermark does not skip it.
    if (this.strategy.generatesWatermarks) this.generator.onPeriodicEmit(this.wmOutput)
  }

  override close(): void {
    this.ended = true
    this.periodic?.cancel()
  }
}
