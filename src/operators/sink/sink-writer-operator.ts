import type { Committer, Sink, SinkWriter, SinkWriterContext } from '../../api/connector/sink.ts'
import { ListStateDescriptor } from '../../state/descriptors.ts'
import type { ListState } from '../../state/state.ts'
import { NO_TIMESTAMP } from '../../time/time.ts'
import { AbstractStreamOperator } from '../abstract-stream-operator.ts'
import type { OneInputStreamOperator } from '../stream-operator.ts'

/** Committables prepared on one checkpoint's barrier, waiting for that checkpoint to complete. */
interface PendingCommit<CommT> {
  checkpointId: number
  committables: CommT[]
}

/**
 * Runs a sink in two phases: on each checkpoint barrier the writer pre-commits (its committables go
 * into state), and when the checkpoint completes they are committed. After a restore, the
 * committables found in the checkpoint are committed again (commit is idempotent) and the sink
 * aborts what earlier attempts left open. Without checkpoints, everything is committed at the end.
 */
export class SinkWriterOperator<T, CommT> extends AbstractStreamOperator<never> implements OneInputStreamOperator<T, never> {
  private writer!: SinkWriter<T, CommT>
  private committer: Committer<CommT> | undefined
  private pendingState: ListState<PendingCommit<CommT>> | undefined
  private pending: PendingCommit<CommT>[] = []
  private restored: PendingCommit<CommT>[] = []

  constructor(private readonly sink: Sink<T, CommT>) {
    super()
  }

  private writerContext(): SinkWriterContext {
    return {
      jobId: this.ctx.jobId,
      operatorName: this.ctx.operatorName,
      subtaskIndex: this.ctx.subtaskIndex,
      parallelism: this.ctx.parallelism,
      maxParallelism: this.ctx.maxParallelism,
      attemptNumber: this.ctx.attemptNumber,
      attemptId: this.ctx.attemptId,
    }
  }

  override initializeState(): void {
    this.committer = this.sink.createCommitter?.()
    if (!this.committer) return
    // Union state: after a rescale one subtask sees every committable and re-commits them all.
    this.pendingState = this.ctx.operatorBackend.getUnionListState(new ListStateDescriptor<PendingCommit<CommT>>('sink-pending-committables'))
    this.restored = this.ctx.isRestored ? this.pendingState.get() : []
    this.pendingState.clear()
  }

  override async open(): Promise<void> {
    if (this.committer && this.ctx.isRestored && this.ctx.subtaskIndex === 0) {
      const committables = this.restored.flatMap((p) => p.committables)
      if (committables.length > 0) await this.committer.commit(committables)
      await this.sink.abortLeftovers?.(this.writerContext())
    }
    this.restored = []
    this.writer = this.sink.createWriter(this.writerContext())
  }

  processElement(value: T, timestamp: number): void {
    this.writer.write(value, timestamp === NO_TIMESTAMP ? undefined : timestamp)
  }

  override processWatermark(watermark: number): void {
    this.currentWatermark = watermark
  }

  override async snapshotState(checkpointId: number): Promise<void> {
    await this.writer.flush(false)
    if (!this.committer || !this.writer.prepareCommit) return
    const committables = await this.writer.prepareCommit(checkpointId)
    if (committables.length > 0) this.pending.push({ checkpointId, committables })
    this.pendingState!.update(this.pending)
  }

  override async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    if (!this.committer) return
    const due = this.pending.filter((p) => p.checkpointId <= checkpointId)
    if (due.length === 0) return
    await this.committer.commit(due.flatMap((p) => p.committables))
    this.pending = this.pending.filter((p) => p.checkpointId > checkpointId)
  }

  override async finish(): Promise<void> {
    await this.writer.flush(true)
    // What was written after the last checkpoint (or everything, without checkpoints) has no later
    // checkpoint to wait for: commit it now.
    if (this.writer.prepareCommit && this.committer) {
      const committables = await this.writer.prepareCommit(Number.MAX_SAFE_INTEGER)
      const all = [...this.pending.flatMap((p) => p.committables), ...committables]
      if (all.length > 0) await this.committer.commit(all)
      this.pending = []
    }
  }

  override async close(): Promise<void> {
    await this.writer?.close()
    await this.committer?.close?.()
  }
}
