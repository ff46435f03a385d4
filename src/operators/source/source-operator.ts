import type { InputStatus, ReaderOutput, SourceReader, SourceSplit } from '../../api/connector/source.ts'
import type { SourceDescriptor } from '../../graph/source-descriptor.ts'
import { ListStateDescriptor } from '../../state/descriptors.ts'
import type { ListState } from '../../state/state.ts'
import type { Cancellable } from '../../time/processing-time-service.ts'
import { MAX_WATERMARK, MIN_WATERMARK, NO_TIMESTAMP } from '../../time/time.ts'
import type { WatermarkStrategy } from '../../time/watermark-strategy.ts'
import { SourceWatermarks } from './source-watermarks.ts'
import { AbstractStreamOperator } from '../abstract-stream-operator.ts'

/** How a source reader reaches its enumerator. */
export interface SourceCoordinatorGateway {
  requestSplit(subtask: number): void
  registerReader(subtask: number): void
}

/** Default interval of periodic watermarks, as Flink's `autoWatermarkInterval`. */
export const DEFAULT_WATERMARK_INTERVAL_MS = 200

/**
 * The head of a source task: drives the reader, stamps records with timestamps, generates watermarks
 * and keeps the reader's splits (with their positions) in operator state.
 */
export class SourceOperator<T> extends AbstractStreamOperator<T> {
  reader!: SourceReader<T, SourceSplit>
  private splitsState!: ListState<SourceSplit>
  private restoredSplits: SourceSplit[] = []
  private readerOutput!: ReaderOutput<T>
  private lastWatermark = MIN_WATERMARK
  private periodic: Cancellable | undefined
  private ended = false

  constructor(
    private readonly descriptor: SourceDescriptor,
    private readonly gateway: SourceCoordinatorGateway,
    /** Tells the task whether this source is idle, so downstream stops waiting for its watermark. */
    private readonly onIdleChange: (idle: boolean) => void = () => {},
    private readonly watermarkIntervalMs = DEFAULT_WATERMARK_INTERVAL_MS,
  ) {
    super()
  }

  override initializeState(): void {
    const serializer = this.descriptor.source.splitSerializer
    this.splitsState = this.ctx.operatorBackend.getListState(new ListStateDescriptor<SourceSplit>('source-reader-splits', serializer))
    this.restoredSplits = this.splitsState.get()
  }

  override open(): void {
    const { source, watermarkStrategy } = this.descriptor
    const subtask = this.ctx.subtaskIndex
    this.reader = source.createReader({
      subtaskIndex: subtask,
      parallelism: this.ctx.parallelism,
      sendSplitRequest: () => this.gateway.requestSplit(subtask),
    })
    const strategy = watermarkStrategy as WatermarkStrategy<T>
    const output = this.output
    if (!strategy.generatesWatermarks && !strategy.timestampAssigner) {
      // No event time: skip the per-split machinery on the hot path.
      this.readerOutput = { collect: (value, timestamp) => output.collect(value, timestamp ?? NO_TIMESTAMP) }
    } else {
      const clock = this.ctx.processingTime
      const watermarks = new SourceWatermarks<T>(
        strategy,
        output,
        (wm) => this.emitWatermark(wm),
        (idle) => this.onIdleChange(idle),
        () => clock.now(),
      )
      this.readerOutput = watermarks
      // A reader holding splits is not idle before its first record: it may be busy re-sending
      // restored in-flight records, which must not turn late meanwhile.
      const reader = this.reader
      const addSplits = reader.addSplits.bind(reader)
      reader.addSplits = (splits) => {
        for (const split of splits) watermarks.splitAssigned(split.splitId)
        addSplits(splits)
      }
      if (strategy.generatesWatermarks) {
        const tick = (): void => {
          if (this.ended) return
          watermarks.onPeriodicEmit()
          this.periodic = clock.schedule(clock.now() + this.watermarkIntervalMs, tick)
        }
        this.periodic = clock.schedule(clock.now() + this.watermarkIntervalMs, tick)
      }
    }
    if (this.restoredSplits.length > 0) this.reader.addSplits(this.restoredSplits)
    this.restoredSplits = []
    this.reader.start()
    this.gateway.registerReader(subtask)
  }

  private emitWatermark(watermark: number): void {
    if (watermark <= this.lastWatermark) return
    this.lastWatermark = watermark
    this.output.emitWatermark(watermark)
  }

  /** Emits what the reader has ready. */
  emitNext(): InputStatus {
    return this.reader.pollNext(this.readerOutput)
  }

  override snapshotState(checkpointId: number): void {
    this.splitsState.update(this.reader.snapshotState(checkpointId))
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    this.reader.notifyCheckpointComplete?.(checkpointId)
  }

  override finish(): void {
    this.ended = true
    this.periodic?.cancel()
    this.onIdleChange(false)
    // A bounded input that ended has seen all of event time: fire every remaining timer downstream.
    this.emitWatermark(MAX_WATERMARK)
  }

  override async close(): Promise<void> {
    this.ended = true
    this.periodic?.cancel()
    await this.reader.close()
  }
}
