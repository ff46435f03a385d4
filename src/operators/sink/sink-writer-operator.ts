import type { Committer, Sink, SinkWriter } from '../../api/connector/sink.ts'
import { NO_TIMESTAMP } from '../../time/time.ts'
import { AbstractStreamOperator } from '../abstract-stream-operator.ts'
import type { OneInputStreamOperator } from '../stream-operator.ts'

/** Feeds records to a sink's writer and, at the end, commits what it produced. */
export class SinkWriterOperator<T, CommT> extends AbstractStreamOperator<never> implements OneInputStreamOperator<T, never> {
  private writer!: SinkWriter<T, CommT>
  private committer: Committer<CommT> | undefined

  constructor(private readonly sink: Sink<T, CommT>) {
    super()
  }

  override open(): void {
    this.writer = this.sink.createWriter({
      jobId: this.ctx.jobId,
      operatorName: this.ctx.operatorName,
      subtaskIndex: this.ctx.subtaskIndex,
      parallelism: this.ctx.parallelism,
      maxParallelism: this.ctx.maxParallelism,
      attemptNumber: 0,
    })
    this.committer = this.sink.createCommitter?.()
  }

  processElement(value: T, timestamp: number): void {
    this.writer.write(value, timestamp === NO_TIMESTAMP ? undefined : timestamp)
  }

  override processWatermark(watermark: number): void {
    this.currentWatermark = watermark
  }

  override async finish(): Promise<void> {
    await this.writer.flush(true)
    if (this.writer.prepareCommit && this.committer) {
      const committables = await this.writer.prepareCommit(Number.MAX_SAFE_INTEGER)
      if (committables.length > 0) await this.committer.commit(committables)
    }
  }

  override async close(): Promise<void> {
    await this.writer.close()
    await this.committer?.close?.()
  }
}
