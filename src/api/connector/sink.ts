import type { TaskInfo } from '../runtime-context.ts'

/**
 * Sinks follow Flink's two-phase sink design: a writer per subtask writes records and, on each
 * checkpoint barrier, turns what it wrote into committables; a committer commits them once the
 * checkpoint is complete. A sink without a committer is at-least-once (or idempotent).
 */

/** What a writer knows of its place. */
export interface SinkWriterContext extends TaskInfo {
  /** 0 for the first run of the job, then one more per restart. */
  readonly attemptNumber: number
  /** Unique per run of the job, the same in every subtask: names files or transactions of this attempt. */
  readonly attemptId: string
}

/** Writes records of one subtask. */
export interface SinkWriter<T, CommT = never> {
  /** Synchronous so the hot path has no promise per record: buffer here, write out in `flush`. */
  write(value: T, timestamp: number | undefined): void
  /** Makes what was written durable (end of input, or before a checkpoint). */
  flush(endOfInput: boolean): void | Promise<void>
  /** On a checkpoint barrier: hands over what to commit once the checkpoint completes. */
  prepareCommit?(checkpointId: number): CommT[] | Promise<CommT[]>
  close(): void | Promise<void>
}

/** Commits committables once their checkpoint is complete. Commit must be idempotent. */
export interface Committer<CommT> {
  commit(committables: CommT[]): void | Promise<void>
  close?(): void | Promise<void>
}

/** A destination of records. */
export interface Sink<T, CommT = never> {
  createWriter(context: SinkWriterContext): SinkWriter<T, CommT>
  createCommitter?(): Committer<CommT>
  /**
   * After a restore, once the committables found in the checkpoint were committed: abort whatever
   * earlier attempts left open (transactions, hidden files). Called by one subtask only.
   */
  abortLeftovers?(context: SinkWriterContext): void | Promise<void>
}
