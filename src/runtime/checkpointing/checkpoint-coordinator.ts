import type { CheckpointStorage, CompletedSnapshotHandle, SnapshotKind, SnapshotMetadata, StateFileHandle } from '../../checkpoint/checkpoint-storage.ts'
import { internalPackr } from '../../api/serialization/types.ts'
import { WeirError } from '../../errors.ts'
import type { JobGraph } from '../../graph/job-graph.ts'
import { CheckpointBarrier } from '../io/stream-element.ts'
import type { CheckpointSettings } from './checkpoint-config.ts'
import type { CheckpointStats } from './checkpoint-stats.ts'
import type { CheckpointAck, TaskCheckpointGateway } from './task-checkpoint-gateway.ts'

/** What the coordinator needs of a running subtask. */
export interface CheckpointTarget {
  readonly key: string
  readonly isSource: boolean
  triggerCheckpoint(barrier: CheckpointBarrier): void
  requestStop(drain: boolean): void
  notifyCheckpointComplete(checkpointId: number): void
  notifyCheckpointAborted(checkpointId: number): void
}

/** The running attempt of a job, as the coordinator sees it. */
export interface CheckpointAttempt {
  targets: readonly CheckpointTarget[]
  /** Enumerator state per source operator uid, taken when a checkpoint is triggered. */
  snapshotEnumerators(checkpointId: number): { uid: string; state: unknown }[]
}

interface PendingCheckpoint {
  id: number
  kind: SnapshotKind
  timestamp: number
  started: number
  waiting: Set<string>
  handles: Map<string, (StateFileHandle | undefined)[]>
  enumerators: { uid: string; state: unknown }[]
  stats: CheckpointStats
  timeout: NodeJS.Timeout
  done: { resolve: (h: CompletedSnapshotHandle) => void; reject: (e: unknown) => void }
  promise: Promise<CompletedSnapshotHandle>
  /** Where this snapshot is written (a savepoint may go to a directory of its own). */
  storage: CheckpointStorage
  /**
   * Every subtask acknowledged and the metadata is being written. Such a checkpoint is not failed
   * any more (say because the job failed meanwhile): its state is all written, and discarding its
   * directory under the metadata write could leave a "completed" checkpoint without files.
   */
  completing: boolean
}

const FORMAT_VERSION = 1

/**
 * Triggers checkpoints, collects the acknowledgements of every subtask and completes a checkpoint by
 * writing its metadata; then tells every subtask (sinks commit). Periodic triggering honours the
 * interval, the minimum pause and the maximum number of concurrent checkpoints. Ids keep increasing
 * across restarts.
 */
export class CheckpointCoordinator implements TaskCheckpointGateway {
  private attempt: CheckpointAttempt | undefined
  private readonly pending = new Map<number, PendingCheckpoint>()
  /** Completions (metadata writes) in progress. */
  private readonly completions = new Set<Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private lastCompletedAt = 0
  private consecutiveFailures = 0
  private readonly sourcesAtEnd = new Set<string>()
  private endWaiters: (() => void)[] = []
  private finalTriggered = false
  /** What the checkpoint after the end of input is: a plain checkpoint, or the savepoint of a stop. */
  private finalRequest: { kind: SnapshotKind; targetDirectory: string | undefined; done: Promise<CompletedSnapshotHandle>; resolve: (h: CompletedSnapshotHandle) => void; reject: (e: unknown) => void } | undefined
  /** Every checkpoint of this job, oldest first. */
  readonly history: CheckpointStats[] = []
  readonly completed: CompletedSnapshotHandle[] = []

  constructor(
    private readonly jobId: string,
    private readonly jobName: string,
    private readonly graph: JobGraph,
    readonly storage: CheckpointStorage,
    readonly settings: CheckpointSettings,
    /** Id of the last checkpoint taken (by an earlier run, when restoring). */
    private lastId: number,
    private readonly failJob: (error: Error) => void,
    private readonly log: (message: string) => void,
    /** Storage of savepoints written to a directory chosen at trigger time. */
    private readonly savepointStorage: (directory: string) => CheckpointStorage,
  ) {}

  /** Starts coordinating a (new) attempt of the job: periodic checkpoints begin. */
  attach(attempt: CheckpointAttempt): void {
    this.attempt = attempt
    this.sourcesAtEnd.clear()
    this.finalTriggered = false
    // A stop in progress when the attempt failed is taken up again by the new attempt.
    if (this.finalRequest) for (const t of attempt.targets) if (t.isSource) t.requestStop(false)
    this.schedule(this.settings.intervalMs)
  }

  /** The attempt ended (failed, cancelled or finished): pending checkpoints are abandoned. */
  detach(reason: string, final = false): void {
    this.attempt = undefined
    if (final && this.finalRequest) this.finalRequest.reject(new WeirError('STOP_FAILED', `Job '${this.jobName}' ended before its stop savepoint completed: ${reason}`))
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    for (const p of [...this.pending.values()]) this.fail(p, reason, false)
  }

  /**
   * Resolves once no checkpoint is being completed. A failover waits for this before it picks the
   * checkpoint to restore: one that completes during the failure is the one to take, and its
   * retention may delete the one before it.
   */
  async settled(): Promise<void> {
    while (this.completions.size > 0) await Promise.allSettled([...this.completions])
  }

  /** Makes the next checkpoint id follow `checkpointId` (a restored snapshot's). */
  continueAfter(checkpointId: number): void {
    this.lastId = Math.max(this.lastId, checkpointId)
  }

  /** The id the next checkpoint gets. */
  get nextId(): number {
    return this.lastId + 1
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.periodic(), delayMs)
  }

  private periodic(): void {
    this.timer = undefined
    if (!this.attempt || this.finalTriggered) return
    const sincePause = performance.now() - this.lastCompletedAt
    if (this.pending.size >= this.settings.maxConcurrent || (this.lastCompletedAt > 0 && sincePause < this.settings.minPauseMs)) {
      this.schedule(Math.max(10, this.settings.minPauseMs - sincePause))
      return
    }
    this.trigger('checkpoint').catch(() => {
      // Failures are counted and logged in fail(); the next period tries again.
    })
    this.schedule(this.settings.intervalMs)
  }

  /**
   * Stops the job with a savepoint: sources stop reading (with `drain`, after emitting the end of
   * event time), the savepoint is taken, then the job ends. Resolves with the savepoint.
   */
  stopWithSavepoint(drain: boolean, targetDirectory: string | undefined): Promise<CompletedSnapshotHandle> {
    if (!this.attempt) return Promise.reject(new WeirError('CHECKPOINT_NOT_POSSIBLE', `Job '${this.jobName}' is not running`))
    if (this.finalRequest) return this.finalRequest.done
    let resolve!: (h: CompletedSnapshotHandle) => void
    let reject!: (e: unknown) => void
    const done = new Promise<CompletedSnapshotHandle>((res, rej) => ((resolve = res), (reject = rej)))
    this.finalRequest = { kind: 'savepoint', targetDirectory, done, resolve, reject }
    for (const t of this.attempt.targets) if (t.isSource) t.requestStop(drain)
    return done
  }

  /** Triggers a checkpoint or savepoint now; resolves when it is complete. */
  trigger(kind: SnapshotKind, targetDirectory?: string): Promise<CompletedSnapshotHandle> {
    const attempt = this.attempt
    if (!attempt) return Promise.reject(new WeirError('CHECKPOINT_NOT_POSSIBLE', `Job '${this.jobName}' is not running: no checkpoint can be taken`))
    const id = ++this.lastId
    const timestamp = Date.now()
    let done!: PendingCheckpoint['done']
    const promise = new Promise<CompletedSnapshotHandle>((resolve, reject) => (done = { resolve, reject }))
    const stats: CheckpointStats = {
      id,
      kind,
      status: 'in-progress',
      triggerTimestamp: timestamp,
      durationMs: 0,
      syncMs: 0,
      asyncMs: 0,
      alignmentMs: 0,
      bytes: 0,
      acknowledged: 0,
      total: attempt.targets.length,
    }
    const pending: PendingCheckpoint = {
      id,
      kind,
      timestamp,
      started: performance.now(),
      waiting: new Set(attempt.targets.map((t) => t.key)),
      handles: new Map(),
      enumerators: attempt.snapshotEnumerators(id),
      stats,
      timeout: setTimeout(() => this.fail(pending, `expired after ${this.settings.timeoutMs} ms`, true), this.settings.timeoutMs),
      done,
      promise,
      storage: this.storage,
      completing: false,
    }
    this.pending.set(id, pending)
    this.history.push(stats)
    const barrier = new CheckpointBarrier(id, timestamp, {
      kind,
      mode: this.settings.mode,
      // Savepoints are always aligned: they hold no in-flight records, so they can be rescaled.
      unaligned: this.settings.unaligned && this.settings.mode === 'exactly-once' && kind === 'checkpoint',
      ...(targetDirectory !== undefined ? { targetDirectory } : {}),
    })
    pending.storage = targetDirectory !== undefined ? this.savepointStorage(targetDirectory) : this.storage
    for (const target of attempt.targets) if (target.isSource) target.triggerCheckpoint(barrier)
    return promise
  }

  acknowledge(ack: CheckpointAck): void {
    const pending = this.pending.get(ack.checkpointId)
    if (!pending || !pending.waiting.delete(ack.taskKey)) return
    const subtask = Number(ack.taskKey.split('-')[1])
    for (const { uid, handle } of ack.states) {
      let list = pending.handles.get(uid)
      if (!list) pending.handles.set(uid, (list = []))
      list[subtask] = handle
    }
    const s = pending.stats
    s.acknowledged++
    s.syncMs = Math.max(s.syncMs, ack.syncMs)
    s.asyncMs = Math.max(s.asyncMs, ack.asyncMs)
    s.alignmentMs = Math.max(s.alignmentMs, ack.alignmentMs)
    s.bytes += ack.bytes
    ;(s.subtasks ??= []).push({ taskKey: ack.taskKey, ackTimestamp: Date.now(), syncMs: ack.syncMs, asyncMs: ack.asyncMs, alignmentMs: ack.alignmentMs, bytes: ack.bytes })
    if (pending.waiting.size === 0) {
      pending.completing = true
      const completion = this.complete(pending)
      this.completions.add(completion)
      void completion.finally(() => this.completions.delete(completion))
    }
  }

  decline(taskKey: string, checkpointId: number, reason: unknown): void {
    const pending = this.pending.get(checkpointId)
    if (!pending) return
    const text = reason instanceof Error ? reason.message : String(reason)
    this.fail(pending, `subtask ${taskKey} declined: ${text}`, !/overtook/.test(text))
  }

  sourceReachedEnd(taskKey: string): Promise<void> {
    this.sourcesAtEnd.add(taskKey)
    const promise = new Promise<void>((resolve) => this.endWaiters.push(resolve))
    const sources = this.attempt?.targets.filter((t) => t.isSource) ?? []
    if (!this.finalTriggered && sources.length > 0 && sources.every((t) => this.sourcesAtEnd.has(t.key))) {
      this.finalTriggered = true
      void this.triggerFinal()
    }
    return promise
  }

  /** A checkpoint after every source emitted all its input: its completion lets the job end. */
  private async triggerFinal(): Promise<void> {
    for (;;) {
      if (!this.attempt) return
      try {
        // Earlier checkpoints still pending complete first (their barriers are ahead of this one).
        await Promise.allSettled([...this.pending.values()].map((p) => p.promise))
        const handle = await this.trigger(this.finalRequest?.kind ?? 'checkpoint', this.finalRequest?.targetDirectory)
        this.finalRequest?.resolve(handle)
        const waiters = this.endWaiters
        this.endWaiters = []
        for (const w of waiters) w()
        return
      } catch (error) {
        if (!this.attempt) return
        this.log(`final checkpoint failed, trying again: ${(error as Error).message}`)
      }
    }
  }

  private async complete(pending: PendingCheckpoint): Promise<void> {
    clearTimeout(pending.timeout)
    const metadata: SnapshotMetadata = {
      formatVersion: FORMAT_VERSION,
      kind: pending.kind,
      jobId: this.jobId,
      jobName: this.jobName,
      checkpointId: pending.id,
      timestamp: pending.timestamp,
      operators: this.graph.vertices.flatMap((v) =>
        v.nodes.map((n) => ({
          uid: n.uid,
          name: n.name,
          parallelism: n.parallelism,
          maxParallelism: n.maxParallelism,
          subtasks: Array.from({ length: n.parallelism }, (_, i) => pending.handles.get(n.uid)?.[i]),
        })),
      ),
      sourceEnumerators: pending.enumerators.map(({ uid, state }) => ({ uid, state: Buffer.from(internalPackr.pack(state)).toString('base64') })),
    }
    let handle: CompletedSnapshotHandle
    try {
      handle = await pending.storage.commit(metadata)
    } catch (error) {
      pending.completing = false
      this.fail(pending, `writing its metadata failed: ${(error as Error).message}`, true)
      return
    }
    this.pending.delete(pending.id)
    // An older checkpoint still pending is subsumed by this one.
    for (const older of [...this.pending.values()]) if (older.id < pending.id && older.kind === 'checkpoint') this.fail(older, `subsumed by checkpoint ${pending.id}`, false)
    pending.stats.status = 'completed'
    pending.stats.durationMs = performance.now() - pending.started
    pending.stats.pointer = handle.pointer
    this.lastCompletedAt = performance.now()
    this.consecutiveFailures = 0
    if (pending.kind === 'checkpoint') {
      this.completed.push(handle)
      // Completions may finish out of order; the newest must stay last (restores take the last).
      this.completed.sort((a, b) => a.checkpointId - b.checkpointId)
      await this.applyRetention()
    }
    for (const target of this.attempt?.targets ?? []) target.notifyCheckpointComplete(pending.id)
    pending.done.resolve(handle)
  }

  private async applyRetention(): Promise<void> {
    while (this.completed.length > this.settings.retained) {
      const old = this.completed.shift()!
      try {
        await this.storage.discard(old.checkpointId)
      } catch (error) {
        this.log(`could not delete checkpoint ${old.checkpointId}: ${(error as Error).message}`)
      }
    }
  }

  private fail(pending: PendingCheckpoint, reason: string, counts: boolean): void {
    if (pending.completing || !this.pending.delete(pending.id)) return
    clearTimeout(pending.timeout)
    pending.stats.status = 'failed'
    pending.stats.durationMs = performance.now() - pending.started
    pending.stats.failureReason = reason
    this.log(`checkpoint ${pending.id} failed: ${reason}`)
    for (const target of this.attempt?.targets ?? []) target.notifyCheckpointAborted(pending.id)
    void pending.storage.discard(pending.id).catch(() => {})
    const error = new WeirError('CHECKPOINT_FAILED', `Checkpoint ${pending.id} of job '${this.jobName}' failed: ${reason}`)
    pending.done.reject(error)
    if (counts && this.attempt) {
      this.consecutiveFailures++
      if (this.consecutiveFailures > this.settings.tolerableFailures) {
        this.failJob(new WeirError('TOO_MANY_CHECKPOINT_FAILURES', `${this.consecutiveFailures} consecutive checkpoint failures (tolerated: ${this.settings.tolerableFailures}); last: ${reason}`))
      }
    }
  }

  /** Deletes every checkpoint this job completed (the job finished, or was cancelled without retention). */
  async discardAll(): Promise<void> {
    for (const c of this.completed.splice(0)) await this.storage.discard(c.checkpointId).catch(() => {})
  }
}
