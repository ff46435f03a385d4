import { randomUUID } from 'node:crypto'
import type { CheckpointStorage, CompletedSnapshotHandle, StateFileHandle } from '../checkpoint/checkpoint-storage.ts'
import { FileSystemCheckpointStorage } from '../checkpoint/filesystem-checkpoint-storage.ts'
import type { OperatorSubtaskState } from '../checkpoint/operator-subtask-state.ts'
import { internalPackr } from '../api/serialization/types.ts'
import { WeirError } from '../errors.ts'
import type { JobGraph } from '../graph/job-graph.ts'
import type { CheckpointSettings } from './checkpointing/checkpoint-config.ts'
import { CheckpointCoordinator } from './checkpointing/checkpoint-coordinator.ts'
import type { CheckpointStats } from './checkpointing/checkpoint-stats.ts'
import { startAttempt, type LocalAttempt, type LocalExecutorOptions } from './local-executor.ts'
import type { LocalChannel } from './io/local-channel.ts'
import type { StreamTask } from './stream-task.ts'
import { TaskCancelledError } from './stream-task.ts'

import type { RestartStrategy } from './restart-strategy.ts'

export type { RestartStrategy }

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

/** What a finished job reports. */
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

/** Reads one subtask's state file of a snapshot. */
export type StateReader = (handle: CompletedSnapshotHandle, file: StateFileHandle) => Promise<OperatorSubtaskState>

/** A snapshot to start from and how to read its files. */
export interface RestoreSource {
  handle: CompletedSnapshotHandle
  read: StateReader
}

const EMPTY_STATE: OperatorSubtaskState = { keyed: undefined, operator: { states: [] }, timers: undefined }

/** Reads every subtask file of a snapshot, checking it against the job's operators. */
async function loadSnapshot(
  graph: JobGraph,
  handle: CompletedSnapshotHandle,
  read: StateReader,
  allowNonRestoredState: boolean,
): Promise<{ states: Map<string, OperatorSubtaskState[]>; enumerators: Map<string, unknown> }> {
  const uids = new Set(graph.vertices.flatMap((v) => v.nodes.map((n) => n.uid)))
  const unmatched = handle.metadata.operators.filter((o) => !uids.has(o.uid) && o.subtasks.some((s) => s !== undefined))
  if (unmatched.length > 0 && !allowNonRestoredState) {
    throw new WeirError(
      'UNMATCHED_STATE',
      `${handle.kind} ${handle.pointer} has state for operators this job does not have: ${unmatched.map((o) => `'${o.uid}' (${o.name})`).join(', ')}; set allowNonRestoredState to drop it`,
    )
  }
  const states = new Map<string, OperatorSubtaskState[]>()
  for (const op of handle.metadata.operators) {
    if (!uids.has(op.uid)) continue
    const byNode = graph.vertices.flatMap((v) => v.nodes).find((n) => n.uid === op.uid)!
    if (op.maxParallelism !== byNode.maxParallelism && op.subtasks.some((s) => s !== undefined)) {
      throw new WeirError(
        'MAX_PARALLELISM_MISMATCH',
        `Operator '${op.uid}' was snapshotted with max parallelism ${op.maxParallelism} but the job has ${byNode.maxParallelism}; max parallelism cannot change`,
      )
    }
    states.set(op.uid, await Promise.all(op.subtasks.map((s) => (s ? read(handle, s) : Promise.resolve(EMPTY_STATE)))))
  }
  const enumerators = new Map<string, unknown>()
  for (const e of handle.metadata.sourceEnumerators) enumerators.set(e.uid, internalPackr.unpack(Buffer.from(e.state, 'base64')))
  return { states, enumerators }
}

/**
 * Runs a job in this process with failover: each failure ends the attempt, the restart strategy
 * decides, and the next attempt restores every task from the latest completed checkpoint (falling
 * back to older ones when a checkpoint's files are corrupt or missing).
 */
export function startLocalJob(graph: JobGraph, options: LocalJobOptions): LocalJob {
  const jobId = randomUUID()
  const started = performance.now()
  const startTime = Date.now()
  let endTime: number | undefined
  let status: JobStatus = 'CREATED'
  const failures: JobFailure[] = []
  let attempt: LocalAttempt | undefined
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

  const latestRestorable = async (): Promise<Awaited<ReturnType<typeof loadSnapshot>> | undefined> => {
    const candidates = [...(coordinator?.completed ?? [])].reverse()
    for (const handle of candidates) {
      try {
        return await loadSnapshot(graph, handle, (h, f) => storage!.readSubtaskState(h, f), options.allowNonRestoredState)
      } catch (error) {
        options.log(`cannot restore from checkpoint ${handle.checkpointId}, trying an older one: ${(error as Error).message}`)
      }
    }
    if (restoreSource) return loadSnapshot(graph, restoreSource.handle, restoreSource.read, options.allowNonRestoredState)
    return undefined
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
          failures.push({ timestamp: endTime, attempt: (failures.at(-1)?.attempt ?? -1) + 1, error: error instanceof Error ? error : new Error(String(error)), restarting: false })
        }
        throw error
      },
    )

  const result = track((async (): Promise<JobExecutionResult> => {
    let restarts = 0
    if (options.restoreFrom) {
      restoreSource = await options.restoreFrom()
      // Checkpoint ids go on from the snapshot's, so they never repeat in this job's history.
      coordinator?.continueAfter(restoreSource.handle.checkpointId)
    }
    for (let attemptNumber = 0; ; attemptNumber++) {
      const restored =
        attemptNumber === 0
          ? restoreSource
            ? await loadSnapshot(graph, restoreSource.handle, restoreSource.read, options.allowNonRestoredState)
            : undefined
          : await latestRestorable()
      if (cancelled) throw new WeirError('JOB_CANCELLED', `Job '${graph.jobName}' was cancelled`)
      attempt = startAttempt(graph, options, {
        jobId,
        attemptNumber,
        attemptId: `${jobId.slice(0, 8)}-${attemptNumber}`,
        checkpointing: coordinator && storage ? { storage, gateway: coordinator, savepointStorage } : undefined,
        restored: restored?.states,
        restoredEnumerators: restored?.enumerators,
      })
      const current = attempt
      if (!cancelled) status = 'RUNNING'
      const failed = new Promise<never>((_, reject) => (attemptFailure = reject))
      failed.catch(() => current.cancel())
      coordinator?.attach({
        targets: current.tasks.map((t) => ({
          key: t.key,
          isSource: t.isSource,
          triggerCheckpoint: (b) => t.triggerCheckpoint(b),
          requestStop: (drain) => t.requestStop(drain),
          notifyCheckpointComplete: (id) => t.notifyCheckpointComplete(id),
          notifyCheckpointAborted: (id) => t.notifyCheckpointAborted(id),
        })),
        snapshotEnumerators: (id) => current.sources.map((s) => ({ uid: s.uid, state: s.coordinator.snapshotState(id) })),
      })
      try {
        await Promise.race([current.done, failed])
        coordinator?.detach('the job finished', true)
        if (coordinator && !options.checkpointing!.settings.retainOnCancellation) await coordinator.discardAll()
        return { jobId, jobName: graph.jobName, durationMs: performance.now() - started, restarts }
      } catch (error) {
        current.cancel()
        await current.done.catch(() => {})
        coordinator?.detach('the job failed', cancelled)
        if (cancelled || (error instanceof TaskCancelledError && !attemptFailure)) {
          if (coordinator && !options.checkpointing!.settings.retainOnCancellation) await coordinator.discardAll()
          throw new WeirError('JOB_CANCELLED', `Job '${graph.jobName}' was cancelled`)
        }
        const decision = options.restartStrategy.onFailure(Date.now())
        failures.push({ timestamp: Date.now(), attempt: attemptNumber, error: error instanceof Error ? error : new Error(String(error)), restarting: decision.restart })
        if (!decision.restart) throw error
        status = 'RESTARTING'
        restarts++
        options.log(`job '${graph.jobName}' failed (${(error as Error).message}); restarting in ${decision.delayMs} ms (${options.restartStrategy.describe()})`)
        if (decision.delayMs > 0) await new Promise((r) => setTimeout(r, decision.delayMs))
      }
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
    get tasks() {
      return attempt?.tasks ?? []
    },
    get channels() {
      return attempt?.channels ?? []
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
