import { randomUUID } from 'node:crypto'
import type { CheckpointStorage, CompletedSnapshotHandle } from '../checkpoint/checkpoint-storage.ts'
import { FileSystemCheckpointStorage } from '../checkpoint/filesystem-checkpoint-storage.ts'
import { WeirError } from '../errors.ts'
import type { JobGraph } from '../graph/job-graph.ts'
import type { CheckpointSettings } from './checkpointing/checkpoint-config.ts'
import { CheckpointCoordinator, type CheckpointTarget } from './checkpointing/checkpoint-coordinator.ts'
import type { CheckpointStats } from './checkpointing/checkpoint-stats.ts'
import type { RestartStrategy } from './restart-strategy.ts'
import { SnapshotRestoreError, type RestoreSource } from './snapshot-restore.ts'
import type { TaskDeployment } from './stream-task.ts'

/**
 * The failover loop of a job, whatever runs its tasks: the embedded runner (every task in this
 * process) or the cluster coordinator (tasks on task managers). Each failure ends the attempt, the
 * restart strategy decides, and the next attempt restores every task from the latest completed
 * checkpoint, falling back to older ones when a checkpoint cannot be read.
 */

/** What finished job reports. */
export interface JobExecutionResult {
  jobId: string
  jobName: string
  durationMs: number
  /** Restarts after failures. */
  restarts: number
}

/** Where a job is in its life, with Flink's names. */
export type JobStatus = 'CREATED' | 'RUNNING' | 'RESTARTING' | 'CANCELLING' | 'CANCELED' | 'FINISHED' | 'FAILED'

/** A failure of a job's attempt, kept for the exceptions history. */
export interface JobFailure {
  /** Wall-clock time of the failure. */
  timestamp: number
  /** The attempt that failed (0 for the first run). */
  attempt: number
  error: Error
  /** Whether the restart strategy restarted the job after it. */
  restarting: boolean
}

/** What an attempt needs to know when it starts. */
export interface AttemptContext {
  jobId: string
  /** 0 for the first run, then one more per restart. */
  attemptNumber: number
  /** Unique per run of the job. */
  attemptId: string
  checkpointing: TaskDeployment['checkpointing']
  /**
   * The snapshot to start from, undefined for empty state. A launcher that cannot read it throws
   * `SnapshotRestoreError`, and the runner tries an older checkpoint.
   */
  restore: RestoreSource | undefined
}

/** One run of a job's tasks, as the failover loop sees it. */
export interface RunningAttempt {
  /** Every subtask, for the checkpoint coordinator. */
  readonly targets: readonly CheckpointTarget[]
  /** Enumerator state per source operator uid. */
  snapshotEnumerators(checkpointId: number): { uid: string; state: unknown }[]
  /**
   * Resolves when every task finished; rejects with the first failure. Either way it settles only
   * once every task has stopped (the others are cancelled on a failure).
   */
  readonly done: Promise<void>
  cancel(): void
  /**
   * Called once the checkpoint coordinator coordinates this attempt. Tasks may run before (a
   * cluster starts them as it deploys them), so whatever they report about checkpoints must wait
   * for this.
   */
  attached?(): void
}

/** Starts an attempt's tasks. */
export type AttemptLauncher<A extends RunningAttempt> = (context: AttemptContext) => Promise<A>

/** Options of a job with failover. */
export interface FailoverJobOptions<A extends RunningAttempt> {
  /** Defaults to a random UUID. */
  jobId?: string
  checkpointing: { settings: CheckpointSettings; storage: (jobId: string) => CheckpointStorage } | undefined
  restartStrategy: RestartStrategy
  /** Start from this completed checkpoint or savepoint instead of empty state. */
  restoreFrom: (() => Promise<RestoreSource>) | undefined
  log: (message: string) => void
  launch: AttemptLauncher<A>
}

/** A job under the failover loop. */
export interface FailoverJob<A extends RunningAttempt> {
  readonly jobId: string
  readonly graph: JobGraph
  readonly status: JobStatus
  /** Wall-clock start and end times; `endTime` is undefined while the job is not terminal. */
  readonly startTime: number
  readonly endTime: number | undefined
  /** Failures of attempts, oldest first. */
  readonly failures: readonly JobFailure[]
  /** The current (or last) attempt. */
  readonly attempt: A | undefined
  readonly result: Promise<JobExecutionResult>
  /** Checkpoint statistics, oldest first (empty without checkpointing). */
  readonly checkpoints: readonly CheckpointStats[]
  /** Takes a checkpoint now; resolves with where it was stored. */
  triggerCheckpoint(): Promise<CompletedSnapshotHandle>
  /** Takes a savepoint now (always aligned, self-contained), into `targetDirectory` when given. */
  triggerSavepoint(targetDirectory?: string): Promise<CompletedSnapshotHandle>
  /** Stops the job with a savepoint; with `drain`, the end of event time is emitted first. */
  stopWithSavepoint(options?: { drain?: boolean; targetDirectory?: string }): Promise<CompletedSnapshotHandle>
  cancel(): void
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

/** Starts a job's first attempt and keeps it running through failures, as its restart strategy allows. */
export function startFailoverJob<A extends RunningAttempt>(graph: JobGraph, options: FailoverJobOptions<A>): FailoverJob<A> {
  const jobId = options.jobId ?? randomUUID()
  const started = performance.now()
  const startTime = Date.now()
  let endTime: number | undefined
  let status: JobStatus = 'CREATED'
  const failures: JobFailure[] = []
  let attempt: A | undefined
  let cancelled = false
  let attemptFailure: ((error: Error) => void) | undefined
  const storage = options.checkpointing?.storage(jobId)
  const savepointStorages = new Map<string, CheckpointStorage>()
  // Savepoints asked for in a directory of their own get a storage writing just there.
  const savepointStorage = (directory: string): CheckpointStorage => {
    let s = savepointStorages.get(directory)
    if (!s) savepointStorages.set(directory, (s = new FileSystemCheckpointStorage(directory, jobId, { savepointDir: directory })))
    return s
  }
  let restoreSource: RestoreSource | undefined
  const coordinator =
    options.checkpointing && storage
      ? new CheckpointCoordinator(
          jobId,
          graph.jobName,
          graph,
          storage,
          options.checkpointing.settings,
          0,
          (error) => attemptFailure?.(error),
          (m) => options.log(m),
          (directory) => savepointStorage(directory),
        )
      : undefined
  const cancelledError = (): WeirError => new WeirError('JOB_CANCELLED', `Job '${graph.jobName}' was cancelled`)

  /** Launches an attempt from the newest snapshot that can be read. */
  const launch = async (attemptNumber: number): Promise<A> => {
    const context = (restore: RestoreSource | undefined): AttemptContext => ({
      jobId,
      attemptNumber,
      attemptId: `${jobId.slice(0, 8)}-${attemptNumber}`,
      checkpointing: coordinator && storage ? { storage, gateway: coordinator, savepointStorage } : undefined,
      restore,
    })
    const candidates: RestoreSource[] = attemptNumber === 0 ? [] : [...(coordinator?.completed ?? [])].reverse().map((handle) => ({ handle, read: (h, f) => storage!.readSubtaskState(h, f) }))
    for (const candidate of candidates) {
      try {
        return await options.launch(context(candidate))
      } catch (error) {
        if (!(error instanceof SnapshotRestoreError)) throw error
        options.log(`cannot restore from checkpoint ${candidate.handle.checkpointId}, trying an older one: ${error.message}`)
      }
    }
    try {
      return await options.launch(context(restoreSource))
    } catch (error) {
      // The snapshot the job was started from is the last resort: if it cannot be read, the job fails.
      if (error instanceof SnapshotRestoreError) throw new FatalLaunchError(error.cause)
      throw error
    }
  }

  const restorePoint = (): string => {
    const latest = coordinator?.completed.at(-1)
    if (latest) return `from checkpoint ${latest.checkpointId}`
    return restoreSource ? `from ${restoreSource.handle.kind} ${restoreSource.handle.pointer}` : 'from the beginning'
  }

  const track = (run: Promise<JobExecutionResult>): Promise<JobExecutionResult> =>
    run.then(
      (done) => {
        status = 'FINISHED'
        endTime = Date.now()
        return done
      },
      (error: unknown) => {
        status = error instanceof WeirError && error.code === 'JOB_CANCELLED' ? 'CANCELED' : 'FAILED'
        endTime = Date.now()
        if (status === 'FAILED' && failures.at(-1)?.error !== error) {
          failures.push({ timestamp: endTime, attempt: (failures.at(-1)?.attempt ?? -1) + 1, error: asError(error), restarting: false })
        }
        throw error
      },
    )

  const discardCheckpoints = async (): Promise<void> => {
    if (coordinator && !options.checkpointing!.settings.retainOnCancellation) await coordinator.discardAll()
  }

  const result = track((async (): Promise<JobExecutionResult> => {
    let restarts = 0
    if (options.restoreFrom) {
      restoreSource = await options.restoreFrom()
      // Checkpoint ids go on from the snapshot's, so they never repeat in this job's history.
      coordinator?.continueAfter(restoreSource.handle.checkpointId)
    }
    for (let attemptNumber = 0; ; attemptNumber++) {
      if (cancelled) throw cancelledError()
      let failure: unknown
      let current: A | undefined
      try {
        current = await launch(attemptNumber)
      } catch (error) {
        if (error instanceof FatalLaunchError) throw error.cause
        if (cancelled) throw cancelledError()
        failure = error
      }
      if (current) {
        const running = current
        attempt = running
        if (cancelled) running.cancel()
        else status = 'RUNNING'
        const failed = new Promise<never>((_, reject) => (attemptFailure = reject))
        failed.catch(() => running.cancel())
        coordinator?.attach({ targets: running.targets, snapshotEnumerators: (id) => running.snapshotEnumerators(id) })
        running.attached?.()
        try {
          await Promise.race([running.done, failed])
          coordinator?.detach('the job finished', true)
          await coordinator?.settled()
          await discardCheckpoints()
          return { jobId, jobName: graph.jobName, durationMs: performance.now() - started, restarts }
        } catch (error) {
          running.cancel()
          await running.done.catch(() => {})
          coordinator?.detach('the job failed', cancelled)
          await coordinator?.settled()
          if (cancelled) {
            await discardCheckpoints()
            throw cancelledError()
          }
          failure = error
        }
      }
      const decision = options.restartStrategy.onFailure(Date.now())
      failures.push({ timestamp: Date.now(), attempt: attemptNumber, error: asError(failure), restarting: decision.restart })
      if (!decision.restart) throw failure
      status = 'RESTARTING'
      restarts++
      options.log(`${asError(failure).message}; restarting job '${graph.jobName}' ${restorePoint()} in ${decision.delayMs} ms (${options.restartStrategy.describe()})`)
      if (decision.delayMs > 0) await new Promise((r) => setTimeout(r, decision.delayMs))
    }
  })())

  const noCheckpointing = (): Promise<never> => Promise.reject(new WeirError('CHECKPOINTING_DISABLED', 'The job does not take checkpoints: call enableCheckpointing()'))
  return {
    jobId,
    graph,
    get status() {
      return status
    },
    startTime,
    get endTime() {
      return endTime
    },
    failures,
    get attempt() {
      return attempt
    },
    result,
    get checkpoints() {
      return coordinator?.history ?? []
    },
    triggerCheckpoint: () => (coordinator ? coordinator.trigger('checkpoint') : noCheckpointing()),
    triggerSavepoint: (targetDirectory?: string) => (coordinator ? coordinator.trigger('savepoint', targetDirectory) : noCheckpointing()),
    stopWithSavepoint: (stopOptions: { drain?: boolean; targetDirectory?: string } = {}) =>
      coordinator ? coordinator.stopWithSavepoint(stopOptions.drain ?? false, stopOptions.targetDirectory) : noCheckpointing(),
    cancel: () => {
      cancelled = true
      if (endTime === undefined) status = 'CANCELLING'
      attempt?.cancel()
    },
  }
}

/** The snapshot the job was started from cannot be read: the job fails with the cause. */
class FatalLaunchError extends Error {
  constructor(override readonly cause: unknown) {
    super('the snapshot to start from cannot be read')
  }
}
