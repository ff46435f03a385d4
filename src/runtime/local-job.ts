import type { CheckpointStorage, CompletedSnapshotHandle } from '../checkpoint/checkpoint-storage.ts'
import type { JobGraph } from '../graph/job-graph.ts'
import type { CheckpointSettings } from './checkpointing/checkpoint-config.ts'
import type { CheckpointStats } from './checkpointing/checkpoint-stats.ts'
import { startAttempt, type LocalAttempt, type LocalExecutorOptions } from './local-executor.ts'
import type { LocalChannel } from './io/local-channel.ts'
import { startFailoverJob, type JobExecutionResult, type JobFailure, type JobStatus } from './job-runner.ts'
import { loadSnapshot, SnapshotRestoreError, type RestoreSource, type RestoredSnapshot, type StateReader } from './snapshot-restore.ts'
import type { StreamTask } from './stream-task.ts'
import type { RestartStrategy } from './restart-strategy.ts'

export type { RestartStrategy, JobExecutionResult, JobFailure, JobStatus, RestoreSource, StateReader }

/** Options of a job run in this process. */
export interface LocalJobOptions extends LocalExecutorOptions {
  checkpointing: { settings: CheckpointSettings; storage: (jobId: string) => CheckpointStorage } | undefined
  restartStrategy: RestartStrategy
  /** Start from this completed checkpoint or savepoint instead of empty state. */
  restoreFrom: (() => Promise<RestoreSource>) | undefined
  /** Accept a snapshot with state of operators the job no longer has. */
  allowNonRestoredState: boolean
  log: (message: string) => void
}

/** A job running in this process. */
export interface LocalJob {
  readonly jobId: string
  readonly graph: JobGraph
  readonly status: JobStatus
  /** Wall-clock start and end times; `endTime` is undefined while the job is not terminal. */
  readonly startTime: number
  readonly endTime: number | undefined
  /** Failures of attempts, oldest first. */
  readonly failures: readonly JobFailure[]
  /** The tasks of the current attempt. */
  readonly tasks: readonly StreamTask[]
  /** The channels of the current attempt, for backpressure figures. */
  readonly channels: readonly LocalChannel[]
  readonly result: Promise<JobExecutionResult>
  /** Checkpoint statistics, oldest first (empty without checkpointing). */
  readonly checkpoints: readonly CheckpointStats[]
  /** Takes a checkpoint now; resolves with where it was stored. */
  triggerCheckpoint(): Promise<CompletedSnapshotHandle>
  /**
   * Takes a savepoint now (always aligned, self-contained), into `targetDirectory` when given;
   * resolves with where it was stored.
   */
  triggerSavepoint(targetDirectory?: string): Promise<CompletedSnapshotHandle>
  /**
   * Stops the job with a savepoint: sources stop, the savepoint is taken, the job ends (its result
   * resolves). With `drain`, the end of event time is emitted first so every window fires — for a
   * job that will not be resumed.
   */
  stopWithSavepoint(options?: { drain?: boolean; targetDirectory?: string }): Promise<CompletedSnapshotHandle>
  cancel(): void
}

/**
 * Runs a job in this process with failover: each failure ends the attempt, the restart strategy
 * decides, and the next attempt restores every task from the latest completed checkpoint (falling
 * back to older ones when a checkpoint's files are corrupt or missing).
 */
export function startLocalJob(graph: JobGraph, options: LocalJobOptions): LocalJob {
  const job = startFailoverJob<LocalAttempt>(graph, {
    checkpointing: options.checkpointing,
    restartStrategy: options.restartStrategy,
    restoreFrom: options.restoreFrom,
    log: options.log,
    launch: async (context) => {
      let restored: RestoredSnapshot | undefined
      if (context.restore) {
        try {
          restored = await loadSnapshot(graph, context.restore, options.allowNonRestoredState)
        } catch (error) {
          throw new SnapshotRestoreError(context.restore.handle.pointer, context.restore.handle.checkpointId, error)
        }
      }
      return startAttempt(graph, options, {
        jobId: context.jobId,
        attemptNumber: context.attemptNumber,
        attemptId: context.attemptId,
        checkpointing: context.checkpointing,
        restored: restored?.states,
        restoredEnumerators: restored?.enumerators,
      })
    },
  })
  return {
    get jobId() {
      return job.jobId
    },
    graph,
    get status() {
      return job.status
    },
    startTime: job.startTime,
    get endTime() {
      return job.endTime
    },
    failures: job.failures,
    get tasks() {
      return job.attempt?.tasks ?? []
    },
    get channels() {
      return job.attempt?.channels ?? []
    },
    result: job.result,
    get checkpoints() {
      return job.checkpoints
    },
    triggerCheckpoint: () => job.triggerCheckpoint(),
    triggerSavepoint: (targetDirectory?: string) => job.triggerSavepoint(targetDirectory),
    stopWithSavepoint: (stopOptions) => job.stopWithSavepoint(stopOptions),
    cancel: () => job.cancel(),
  }
}
