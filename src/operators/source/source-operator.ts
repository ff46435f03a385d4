import type { InputStatus, ReaderOutput, SourceReader, SourceSplit } from '../../api/connector/source.ts'
import type { SourceDescriptor } from '../../graph/source-descriptor.ts'
import { ListStateDescriptor } from '../../state/descriptors.ts'
import type { ListState } from '../../state/state.ts'
import type { Cancellable } from '../../time/processing-time-service.ts'
import { MAX_WATERMARK, MIN_WATERMARK, NO_TIMESTAMP } from '../../time/time.ts'
import type { WatermarkGenerator, WatermarkOutput } from '../../time/watermark-strategy.ts'
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
  private generator!: WatermarkGenerator<T>
  private readerOutput!: ReaderOutput<T>
  private lastWatermark = MIN_WATERMARK
  private periodic: Cancellable | undefined
  private ended = false

  constructor(
    private readonly descriptor: SourceDescriptor,
    private readonly gateway: SourceCoordinatorGateway,
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
    const strategy = watermarkStrategy as import('../../time/watermark-strategy.ts').WatermarkStrategy<T>
    this.generator = strategy.createGenerator()
    const wmOutput: WatermarkOutput = {
      emitWatermark: (wm) => this.emitWatermark(wm),
      markIdle: () => {},
      markActive: () => {},
    }
    const assigner = strategy.timestampAssigner
    const output = this.output
    const generator = this.generator
    if (!strategy.generatesWatermarks && !assigner) {
      this.readerOutput = { collect: (value, timestamp) => output.collect(value, timestamp ?? NO_TIMESTAMP) }
    } else {
      this.readerOutput = {
        collect: (value, timestamp) => {
          const ts = assigner ? assigner(value, timestamp) : (timestamp ?? NO_TIMESTAMP)
          generator.onEvent(value, ts, wmOutput)
          output.collect(value, ts)
        },
      }
    }
    if (strategy.generatesWatermarks) {
      const tick = (): void => {
        if (this.ended) return
        generator.onPeriodicEmit(wmOutput)
        this.periodic = this.ctx.processingTime.schedule(this.ctx.processingTime.now() + this.watermarkIntervalMs, tick)
      }
      this.periodic = this.ctx.processingTime.schedule(this.ctx.processingTime.now() + this.watermarkIntervalMs, tick)
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
    // A bounded input that ended has seen all of event time: fire every remaining timer downstream.
    this.emitWatermark(MAX_WATERMARK)
  }

  override async close(): Promise<void> {
    this.ended = true
    this.periodic?.cancel()
    await this.reader.close()
  }
}
