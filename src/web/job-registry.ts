import { randomUUID } from 'node:crypto'
import type { LocalJob } from '../runtime/local-job.ts'
import type { StreamTask } from '../runtime/stream-task.ts'
import { WeirError } from '../errors.ts'
import type { AsyncOperationResult } from './api-types.ts'
import { MetricsSampler, type SamplerOptions } from './metrics/sampler.ts'

/** A checkpoint or savepoint asked for through the API, polled by its trigger id. */
export interface SnapshotOperation {
  readonly triggerId: string
  readonly kind: 'checkpoint' | 'savepoint'
  result: AsyncOperationResult
}

/** What to do with a savepoint, as Flink's savepoint and stop requests say it. */
export interface SavepointRequest {
  /** Where the savepoint goes (a directory); the job's savepoint directory when absent. */
  targetDirectory?: string
  /** Cancel the job once the savepoint completed (Flink's `cancel-job`). */
  cancelJob?: boolean
  /**
   * Stop the job with the savepoint (Flink's stop): sources stop first, so nothing is processed
   * after it; with `drain`, the end of event time is emitted so every window fires.
   */
  stop?: { drain: boolean }
}

/** How a job was registered. */
export interface RegistrationOptions {
  /** Whether the job takes checkpoints; by default, whether it has taken any. */
  checkpointing?: boolean
}

/** A job the web server knows, with the operations triggered on it. */
export interface RegisteredJob {
  readonly job: LocalJob
  readonly options: RegistrationOptions
  readonly operations: Map<string, SnapshotOperation>
}

/** Operations kept per job; older ones are forgotten. */
const MAX_OPERATIONS = 100

/**
 * The jobs the REST API serves. Registering a job starts sampling its tasks' counters, from which
 * rates and time ratios are computed; jobs stay listed after they end.
 */
export class JobRegistry {
  private readonly jobs = new Map<string, RegisteredJob>()
  readonly sampler: MetricsSampler

  constructor(options: Partial<SamplerOptions> = {}) {
    this.sampler = new MetricsSampler(() => this.sampledTasks(), options)
    this.sampler.start()
  }

  private *sampledTasks(): Iterable<StreamTask> {
    const now = Date.now()
    for (const { job } of this.jobs.values()) {
      // An ended job's counters no longer move; sampling it for one more window lets rates fall to 0.
      if (job.endTime !== undefined && now - job.endTime > this.sampler.options.windowMs * 2) continue
      yield* job.tasks
    }
  }

  /** Makes a job visible to the API. */
  register(job: LocalJob, options: RegistrationOptions = {}): RegisteredJob {
    const entry: RegisteredJob = { job, options, operations: new Map() }
    // A job cancelled through the API must not crash a process that never awaits its result; the
    // failure stays visible in the job's state and exceptions, and to whoever awaits `result`.
    job.result.catch(() => {})
    this.jobs.set(job.jobId, entry)
    this.sampler.sample()
    return entry
  }

  /** The job with this id, if registered. */
  get(jobId: string): RegisteredJob | undefined {
    return this.jobs.get(jobId)
  }

  /** Every registered job, in registration order. */
  list(): RegisteredJob[] {
    return [...this.jobs.values()]
  }

  /** Whether a job takes checkpoints (so checkpoints and savepoints can be triggered). */
  checkpointingEnabled(entry: RegisteredJob): boolean {
    return entry.options.checkpointing ?? entry.job.checkpoints.length > 0
  }

  /**
   * Starts a checkpoint or savepoint and returns the operation to poll. A trigger id given again
   * returns the first operation, so a client may retry a request safely.
   */
  trigger(entry: RegisteredJob, kind: 'checkpoint' | 'savepoint', options: { triggerId?: string } & SavepointRequest = {}): SnapshotOperation {
    const existing = options.triggerId === undefined ? undefined : entry.operations.get(options.triggerId)
    if (existing) return existing
    const { job } = entry
    if (job.endTime !== undefined || job.status === 'CANCELLING') {
      throw new WeirError('JOB_NOT_RUNNING', `Job '${job.jobId}' is ${job.status}: no ${kind} can be taken`)
    }
    if (!this.checkpointingEnabled(entry)) {
      throw new WeirError('CHECKPOINTING_DISABLED', `Job '${job.jobId}' does not take checkpoints (the job did not call enableCheckpointing()), so no ${kind} can be taken`)
    }
    const operation: SnapshotOperation = {
      triggerId: options.triggerId ?? randomUUID(),
      kind,
      result: { status: { id: 'IN_PROGRESS' }, operation: null },
    }
    const promise =
      kind === 'checkpoint'
        ? job.triggerCheckpoint()
        : options.stop
          ? job.stopWithSavepoint({ drain: options.stop.drain, targetDirectory: options.targetDirectory })
          : job.triggerSavepoint(options.targetDirectory)
    // The coordinator records the new checkpoint in its history as it triggers it.
    const stats = job.checkpoints.at(-1)
    const checkpointId = stats && stats.kind === kind && stats.status === 'in-progress' ? stats.id : null
    promise.then(
      (handle) => {
        operation.result = { status: { id: 'COMPLETED' }, operation: { checkpointId: handle.checkpointId, location: handle.pointer, failureCause: null } }
        if (options.cancelJob) job.cancel()
      },
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error))
        operation.result = {
          status: { id: 'COMPLETED' },
          operation: { checkpointId, location: null, failureCause: { class: e.name, code: e instanceof WeirError ? e.code : null, message: e.message } },
        }
      },
    )
    entry.operations.set(operation.triggerId, operation)
    if (entry.operations.size > MAX_OPERATIONS) entry.operations.delete(entry.operations.keys().next().value!)
    return operation
  }

  /** Stops sampling; the jobs themselves are left alone. */
  close(): void {
    this.sampler.stop()
  }
}
