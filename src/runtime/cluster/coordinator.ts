import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { resolve } from 'node:path'
import type { Logger } from 'pino'
import { internalPackr } from '../../api/serialization/types.ts'
import { WeirError } from '../../errors.ts'
import type { JobGraph } from '../../graph/job-graph.ts'
import type { CheckpointTarget } from '../checkpointing/checkpoint-coordinator.ts'
import { startFailoverJob, type AttemptContext, type FailoverJob, type RunningAttempt } from '../job-runner.ts'
import { checkSnapshotFits, decodeEnumeratorStates, SnapshotRestoreError } from '../snapshot-restore.ts'
import { SourceCoordinator, type ReaderEvent } from '../source-coordinator.ts'
import { TaskCancelledError } from '../stream-task.ts'
import { bundlePath, storeBundle } from './bundle.ts'
import { buildJob, clusterStorage } from './job-loader.ts'
import type { PeerAddress } from './network.ts'
import type {
  AckParams,
  AttemptFailedParams,
  BarrierData,
  DeclineParams,
  DeployParams,
  JobInfo,
  JobMetrics,
  ReaderEventParams,
  ReaderRequestParams,
  RegisterParams,
  RegisterResult,
  SubmitParams,
  TaskEndedParams,
  TaskManagerInfo,
  WaitResult,
} from './protocol.ts'
import { RemoteError, RpcPeer, serializeError, type HeartbeatSettings, type Payload } from './rpc.ts'

/** Settings of a coordinator. */
export interface CoordinatorOptions {
  host: string
  port: number
  /** Checkpoints of jobs that did not choose a storage of their own. */
  checkpointDir: string
  heartbeat: HeartbeatSettings
  /** How long an attempt waits for enough free slots before it fails. */
  slotTimeoutMs: number
  /**
   * Record batches each end of a network channel holds (the credits a receiver grants). A credit
   * comes back only when the receiving task takes a batch and the sending process next reads its
   * socket, so this is what keeps a fast channel busy across that round trip.
   */
  networkBuffers: number
  log: Logger
}

/** How long a metrics query waits for each task manager. */
const METRICS_TIMEOUT_MS = 2000

/** How long a broken data connection waits for its task manager to be declared lost. */
const DATA_LOSS_GRACE_MS = 250

/** Default batches per network channel end: 16k records in flight at the default batch size. */
export const DEFAULT_NETWORK_BUFFERS = 32

/** Default liveness settings: a task manager silent for 3 s is lost. */
export const DEFAULT_HEARTBEAT: HeartbeatSettings = { intervalMs: 500, timeoutMs: 3000 }

/** A registered task manager. */
interface TaskManagerRecord {
  id: string
  pid: number
  slots: number
  usedSlots: number
  data: PeerAddress
  peer: RpcPeer
  lost: boolean
  /** Attempts with subtasks here. */
  attempts: Set<ClusterAttempt>
}

/** A submitted job. */
interface ClusterJob {
  jobId: string
  name: string
  bundle: string
  args: string[]
  parallelism: number
  graph: JobGraph
  runner: FailoverJob<ClusterAttempt>
  cancelRequested: boolean
}

function describe(tm: TaskManagerRecord): string {
  return `task manager ${tm.id} (pid ${tm.pid})`
}

/**
 * The cluster's coordinator, Flink's JobManager: keeps the task managers and their slots, builds
 * each submitted job's graph from its bundle, schedules subtasks into slots, runs the checkpoint
 * coordinator and the split enumerators, and restarts a job from its latest checkpoint when a task
 * fails or a task manager is lost.
 */
export class ClusterCoordinator {
  private server: Server | undefined
  private readonly taskManagers = new Map<string, TaskManagerRecord>()
  private readonly jobs = new Map<string, ClusterJob>()
  private readonly attempts = new Map<number, ClusterAttempt>()
  private slotWaiters: (() => void)[] = []
  private nextTaskManager = 1
  private nextStream = 1
  private readonly log: Logger
  /** The address clients and task managers reach this coordinator at. */
  address: PeerAddress | undefined

  constructor(private readonly options: CoordinatorOptions) {
    this.log = options.log
  }

  /** Starts listening; resolves with the bound address. */
  async start(): Promise<PeerAddress> {
    const server = createServer((socket) => {
      const peer: RpcPeer = new RpcPeer(socket, {
        onRequest: (method, params) => this.onRequest(peer, method, params),
        onMessage: (method, params) => this.onMessage(peer, method, params),
        onLost: (reason) => this.onPeerLost(peer, reason),
      })
    })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.options.port, this.options.host, () => resolve())
    })
    const address = server.address()
    if (address === null || typeof address === 'string') throw new WeirError('INTERNAL', 'The coordinator has no TCP address')
    this.address = { host: this.options.host === '0.0.0.0' ? '127.0.0.1' : this.options.host, port: address.port }
    this.log.info({ port: address.port, checkpointDir: this.options.checkpointDir }, `coordinator listening on ${this.address.host}:${address.port}`)
    return this.address
  }

  /** Cancels every job and closes every connection. */
  async stop(): Promise<void> {
    for (const job of this.jobs.values()) this.cancelJob(job)
    await Promise.allSettled([...this.jobs.values()].map((j) => j.runner.result))
    for (const tm of this.taskManagers.values()) tm.peer.close('the coordinator is stopping')
    const server = this.server
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private taskManagerOf(peer: RpcPeer): TaskManagerRecord | undefined {
    for (const tm of this.taskManagers.values()) if (tm.peer === peer) return tm
    return undefined
  }

  private async onRequest(peer: RpcPeer, method: string, params: Payload): Promise<unknown> {
    switch (method) {
      case 'register':
        return this.register(peer, params as unknown as RegisterParams)
      case 'bundle':
        return { bytes: await readFile(bundlePath(params.hash as string)) }
      case 'submit':
        return this.submit(params as unknown as SubmitParams)
      case 'list':
        return [...this.jobs.values()].map((j) => this.info(j))
      case 'cancel': {
        const job = this.findJob(params.jobId as string)
        this.cancelJob(job)
        return this.info(job)
      }
      case 'wait':
        return this.wait(this.findJob(params.jobId as string))
      case 'jobInfo':
        return this.info(this.findJob(params.jobId as string))
      case 'checkpoints':
        return this.findJob(params.jobId as string).runner.checkpoints
      case 'jobMetrics':
        return this.metrics(this.findJob(params.jobId as string))
      case 'taskManagers':
        return [...this.taskManagers.values()].map((tm): TaskManagerInfo => ({ id: tm.id, pid: tm.pid, slots: tm.slots, freeSlots: tm.slots - tm.usedSlots, dataAddress: `${tm.data.host}:${tm.data.port}` }))
      default:
        throw new WeirError('UNKNOWN_REQUEST', `Unknown request '${method}'`)
    }
  }

  private onMessage(peer: RpcPeer, method: string, params: Payload): void {
    const tm = this.taskManagerOf(peer)
    if (!tm) return
    const attempt = this.attempts.get(params.stream as number)
    if (!attempt) return
    switch (method) {
      case 'taskEnded':
        attempt.onTaskEnded(tm, params as unknown as TaskEndedParams)
        return
      case 'attemptFailed': {
        const p = params as unknown as AttemptFailedParams
        const error = new RemoteError(p.error)
        const peer = this.taskManagers.get(p.peer)
        // A task manager that died breaks its data connections as it breaks its control connection;
        // the other task managers may tell before this coordinator has noticed. Waiting a moment
        // lets the failure name the real cause.
        if (peer && !peer.lost) setTimeout(() => attempt.fail(error), DATA_LOSS_GRACE_MS)
        else attempt.fail(error)
        return
      }
      case 'ack':
        attempt.context.checkpointing?.gateway.acknowledge((params as unknown as AckParams).ack)
        return
      case 'decline': {
        const p = params as unknown as DeclineParams
        attempt.context.checkpointing?.gateway.decline(p.key, p.checkpointId, new Error(p.reason))
        return
      }
      case 'sourceEnd':
        attempt.onSourceEnd(tm, params.key as string)
        return
      case 'readerRequest':
        attempt.onReaderRequest(params as unknown as ReaderRequestParams)
        return
      default:
        this.log.warn({ method, taskManager: tm.id }, 'unknown message from a task manager')
    }
  }

  private register(peer: RpcPeer, params: RegisterParams): RegisterResult {
    const id = `tm-${this.nextTaskManager++}`
    const tm: TaskManagerRecord = { id, pid: params.pid, slots: params.slots, usedSlots: 0, data: { host: params.dataHost, port: params.dataPort }, peer, lost: false, attempts: new Set() }
    this.taskManagers.set(id, tm)
    peer.startHeartbeats(this.options.heartbeat)
    this.log.info({ taskManager: id, pid: params.pid, slots: params.slots, data: `${params.dataHost}:${params.dataPort}` }, `${describe(tm)} registered with ${params.slots} slot(s)`)
    this.wakeSlotWaiters()
    return { id, heartbeat: this.options.heartbeat }
  }

  private onPeerLost(peer: RpcPeer, reason: string): void {
    const tm = this.taskManagerOf(peer)
    if (!tm) return
    tm.lost = true
    this.taskManagers.delete(tm.id)
    const affected = [...tm.attempts]
    this.log.warn({ taskManager: tm.id, pid: tm.pid, reason, jobs: affected.map((a) => a.job.name) }, `${describe(tm)} lost: ${reason}`)
    for (const attempt of affected) attempt.onTaskManagerLost(tm, reason)
  }

  private findJob(jobId: string): ClusterJob {
    const exact = this.jobs.get(jobId)
    if (exact) return exact
    const matches = [...this.jobs.values()].filter((j) => j.jobId.startsWith(jobId))
    if (matches.length === 1) return matches[0]
    throw new WeirError('JOB_NOT_FOUND', matches.length === 0 ? `No job ${jobId} on this cluster` : `Job id ${jobId} is ambiguous: ${matches.map((j) => j.jobId).join(', ')}`)
  }

  private info(job: ClusterJob): JobInfo {
    const runner = job.runner
    return {
      jobId: job.jobId,
      name: job.name,
      status: runner.status,
      startTime: runner.startTime,
      endTime: runner.endTime ?? null,
      restarts: runner.failures.filter((f) => f.restarting).length,
      parallelism: Math.max(...job.graph.vertices.map((v) => v.parallelism)),
      checkpoints: runner.checkpoints.filter((c) => c.status === 'completed').length,
      lastFailure: runner.failures.at(-1)?.error.message ?? null,
    }
  }

  private async wait(job: ClusterJob): Promise<WaitResult> {
    try {
      const result = await job.runner.result
      return { status: job.runner.status, durationMs: result.durationMs, restarts: result.restarts, error: null }
    } catch (error) {
      return { status: job.runner.status, durationMs: (job.runner.endTime ?? Date.now()) - job.runner.startTime, restarts: job.runner.failures.filter((f) => f.restarting).length, error: serializeError(error) }
    }
  }

  private async metrics(job: ClusterJob): Promise<JobMetrics> {
    const all: JobMetrics = { channels: [], tasks: [] }
    // A task manager that does not answer (stopped, about to be declared lost) is left out.
    const replies = await Promise.allSettled([...this.taskManagers.values()].map((tm) => tm.peer.request<JobMetrics>('metrics', { jobId: job.jobId }, METRICS_TIMEOUT_MS)))
    for (const r of replies) {
      if (r.status !== 'fulfilled') continue
      all.channels.push(...r.value.channels)
      all.tasks.push(...r.value.tasks)
    }
    return all
  }

  private cancelJob(job: ClusterJob): void {
    job.cancelRequested = true
    job.runner.cancel()
    this.wakeSlotWaiters()
  }

  private async submit(params: SubmitParams): Promise<{ jobId: string }> {
    const bundle = await storeBundle(params.bundle)
    const args = [...params.args]
    const { env, graph } = await buildJob(bundle, params.name, args, params.parallelism)
    const jobId = randomUUID().replace(/-/g, '')
    const checkpointing = env.config.checkpointing
    const job: ClusterJob = { jobId, name: params.name, bundle, args, parallelism: params.parallelism, graph, runner: undefined as unknown as FailoverJob<ClusterAttempt>, cancelRequested: false }
    const log = this.log.child({ job: params.name, jobId })
    job.runner = startFailoverJob<ClusterAttempt>(graph, {
      jobId,
      checkpointing: checkpointing && { settings: checkpointing, storage: clusterStorage(checkpointing.storage, this.options.checkpointDir) },
      restartStrategy: env.config.restartStrategy,
      restoreFrom: undefined,
      log: (message) => log.warn(message),
      launch: (context) => this.launch(job, context),
    })
    this.jobs.set(jobId, job)
    log.info({ parallelism: Math.max(...graph.vertices.map((v) => v.parallelism)), vertices: graph.vertices.length }, `job '${params.name}' submitted`)
    job.runner.result.then(
      (r) => log.info({ durationMs: Math.round(r.durationMs), restarts: r.restarts }, `job '${params.name}' finished`),
      (error: unknown) => log.warn({ status: job.runner.status, err: error }, `job '${params.name}' ended: ${job.runner.status}`),
    ).finally(() => {
      for (const tm of this.taskManagers.values()) tm.peer.notify('jobEnded', { jobId })
    })
    return { jobId }
  }

  private wakeSlotWaiters(): void {
    const waiters = this.slotWaiters
    this.slotWaiters = []
    for (const w of waiters) w()
  }

  /**
   * Takes `count` slots, spreading them over the task managers (each next slot from the one with
   * the most free slots), waiting for task managers to register if there are too few.
   */
  private async allocateSlots(job: ClusterJob, count: number): Promise<TaskManagerRecord[]> {
    const deadline = performance.now() + this.options.slotTimeoutMs
    for (;;) {
      if (job.cancelRequested) throw new TaskCancelledError(`'${job.name}' (waiting for slots)`)
      const live = [...this.taskManagers.values()].filter((tm) => !tm.lost)
      const free = live.reduce((n, tm) => n + tm.slots - tm.usedSlots, 0)
      if (free >= count) {
        const available = new Map(live.map((tm) => [tm, tm.slots - tm.usedSlots]))
        const taken = new Map<TaskManagerRecord, number>()
        const slots: TaskManagerRecord[] = []
        for (let i = 0; i < count; i++) {
          let best: TaskManagerRecord | undefined
          for (const tm of live) {
            const a = available.get(tm)!
            if (a === 0) continue
            if (!best || a > available.get(best)! || (a === available.get(best)! && (taken.get(tm) ?? 0) < (taken.get(best) ?? 0))) best = tm
          }
          available.set(best!, available.get(best!)! - 1)
          taken.set(best!, (taken.get(best!) ?? 0) + 1)
          slots.push(best!)
        }
        for (const [tm, n] of taken) tm.usedSlots += n
        return slots
      }
      const left = deadline - performance.now()
      if (left <= 0) {
        throw new WeirError('NOT_ENOUGH_SLOTS', `Job '${job.name}' needs ${count} slots; the cluster has ${free} free on ${live.length} task manager(s) (waited ${this.options.slotTimeoutMs} ms)`)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.slotWaiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Releases the slots an attempt took on a task manager. */
  releaseSlots(tm: TaskManagerRecord, count: number): void {
    tm.usedSlots = Math.max(0, tm.usedSlots - count)
    this.wakeSlotWaiters()
  }

  /** Deploys one attempt of a job: slots, then every task manager's subtasks, then the enumerators. */
  private async launch(job: ClusterJob, context: AttemptContext): Promise<ClusterAttempt> {
    const { graph } = job
    const restore = context.restore
    if (restore) {
      try {
        checkSnapshotFits(graph, restore.handle, false)
      } catch (error) {
        throw new SnapshotRestoreError(restore.handle.pointer, restore.handle.checkpointId, error)
      }
    }
    const required = Math.max(...graph.vertices.map((v) => v.parallelism))
    const slots = await this.allocateSlots(job, required)
    const placement = graph.vertices.map((v) => Array.from({ length: v.parallelism }, (_, i) => slots[i].id))
    const involved = [...new Set(slots)]
    const stream = this.nextStream++
    const attempt = new ClusterAttempt(this, job, context, stream, placement, slots)
    this.attempts.set(stream, attempt)
    void attempt.done.catch(() => {}).finally(() => this.attempts.delete(stream))
    const peers: Record<string, PeerAddress> = {}
    for (const tm of involved) peers[tm.id] = tm.data
    // Enumerators start first: their initial assignments travel with the deployment.
    attempt.startSources(restore ? decodeEnumeratorStates(restore.handle) : undefined)
    const deploy = (tm: TaskManagerRecord): Promise<unknown> => {
      const params: DeployParams = {
        stream,
        jobId: job.jobId,
        jobName: job.name,
        attemptNumber: context.attemptNumber,
        attemptId: context.attemptId,
        bundle: job.bundle,
        args: job.args,
        parallelism: job.parallelism,
        placement,
        peers,
        restore: restore?.handle ?? null,
        checkpointDir: resolve(this.options.checkpointDir),
        networkBuffers: this.options.networkBuffers,
        readerEvents: attempt.takeBufferedEvents(tm),
      }
      return tm.peer.request('deploy', params as unknown as Payload)
    }
    const results = await Promise.allSettled(involved.map(deploy))
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ tm: involved[i], error: r.reason as unknown }] : []))
    if (failed.length > 0) {
      for (const { tm } of failed) attempt.onDeployFailed(tm)
      const first = failed[0]
      const cause = first.error instanceof WeirError ? first.error : new WeirError('DEPLOY_FAILED', String(first.error))
      const error = new WeirError(cause.code, `Deploying attempt ${context.attemptNumber} of '${job.name}' to ${describe(first.tm)} failed: ${cause.message}`, { cause })
      attempt.fail(error)
      await attempt.done.catch(() => {})
      if (restore && cause.code === 'SNAPSHOT_RESTORE_FAILED') throw new SnapshotRestoreError(restore.handle.pointer, restore.handle.checkpointId, cause)
      // A lost task manager is the better explanation than the request it broke.
      throw attempt.failure ?? error
    }
    attempt.deployed()
    const layout = involved.map((tm) => `${tm.id}: ${slots.filter((s) => s === tm).length} slot(s)`).join(', ')
    this.log.info({ job: job.name, jobId: job.jobId, attempt: context.attemptNumber, stream, restore: restore?.handle.checkpointId ?? null }, `deployed attempt ${context.attemptNumber} of '${job.name}' (${layout})`)
    return attempt
  }
}

/**
 * One attempt of a job on the cluster, as the coordinator tracks it: which subtask runs where, which
 * have ended, and the first failure. It settles once every subtask has ended (or its task manager
 * is gone), so the next attempt never overlaps this one.
 */
class ClusterAttempt implements RunningAttempt {
  readonly targets: CheckpointTarget[]
  readonly done: Promise<void>
  private settle!: { resolve: () => void; reject: (e: unknown) => void }
  private readonly running = new Map<string, TaskManagerRecord>()
  /** The first failure, the attempt's cause of death. */
  failure: Error | undefined
  private cancelled = false
  private settled = false
  private readonly slotsPerTaskManager = new Map<TaskManagerRecord, number>()
  private readonly sources = new Map<number, { uid: string; coordinator: SourceCoordinator }>()
  /** Sources that reached their end before the checkpoint coordinator took the attempt over. */
  private earlyEnds: { tm: TaskManagerRecord; key: string }[] | undefined = []
  /** Reader events held back until the attempt is deployed, per task manager. */
  private buffered: Map<TaskManagerRecord, ReaderEventParams[]> | undefined = new Map()

  constructor(
    private readonly coordinator: ClusterCoordinator,
    readonly job: ClusterJob,
    readonly context: AttemptContext,
    readonly stream: number,
    placement: string[][],
    slots: TaskManagerRecord[],
  ) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }))
    const byId = new Map(slots.map((tm) => [tm.id, tm]))
    for (const tm of slots) {
      this.slotsPerTaskManager.set(tm, (this.slotsPerTaskManager.get(tm) ?? 0) + 1)
      tm.attempts.add(this)
    }
    this.targets = []
    for (const vertex of job.graph.vertices) {
      for (let i = 0; i < vertex.parallelism; i++) {
        const tm = byId.get(placement[vertex.id][i])!
        const key = `${vertex.id}-${i}`
        this.running.set(key, tm)
        this.targets.push(this.target(tm, key, vertex.nodes[0].kind === 'source'))
      }
    }
  }

  private target(tm: TaskManagerRecord, key: string, isSource: boolean): CheckpointTarget {
    const stream = this.stream
    const send = (method: string, params: object): void => {
      if (!tm.lost && !this.settled) tm.peer.notify(method, params as Payload)
    }
    return {
      key,
      isSource,
      triggerCheckpoint: (b) => send('trigger', { stream, key, barrier: { id: b.checkpointId, timestamp: b.timestamp, options: b.options } satisfies BarrierData }),
      requestStop: (drain) => send('stop', { stream, key, drain }),
      notifyCheckpointComplete: (id) => send('complete', { stream, keys: [key], checkpointId: id }),
      notifyCheckpointAborted: (id) => send('aborted', { stream, keys: [key], checkpointId: id }),
    }
  }

  /** Starts the split enumerators; their assignments go to the readers' task managers. */
  startSources(restored: Map<string, unknown> | undefined): void {
    for (const vertex of this.job.graph.vertices) {
      const head = vertex.nodes[0]
      if (head.kind !== 'source') continue
      const serializer = head.source!.source.splitSerializer
      const coordinator = new SourceCoordinator(head.source!, vertex.parallelism, (subtask, event: ReaderEvent) => {
        const key = `${vertex.id}-${subtask}`
        const tm = this.running.get(key)
        if (!tm || tm.lost || this.settled) return
        const params: ReaderEventParams = {
          stream: this.stream,
          key,
          kind: event.kind,
          splits: event.kind === 'add-splits' ? event.splits.map((s) => (serializer ? serializer.serialize(s) : internalPackr.pack(s))) : [],
        }
        const held = this.buffered
        if (held) {
          let list = held.get(tm)
          if (!list) held.set(tm, (list = []))
          list.push(params)
        } else {
          tm.peer.notify('readerEvent', params as unknown as Payload)
        }
      })
      this.sources.set(vertex.id, { uid: head.uid, coordinator })
    }
    for (const { uid, coordinator } of this.sources.values()) coordinator.start(restored?.get(uid))
  }

  /** A source task emitted all its input; it may end once a checkpoint covering it completed. */
  onSourceEnd(tm: TaskManagerRecord, key: string): void {
    if (this.earlyEnds) {
      this.earlyEnds.push({ tm, key })
      return
    }
    const gateway = this.context.checkpointing?.gateway
    if (!gateway) return
    void gateway.sourceReachedEnd(key).then(() => {
      if (!tm.lost && !this.settled) tm.peer.notify('sourceEndDone', { stream: this.stream, key })
    })
  }

  attached(): void {
    const early = this.earlyEnds ?? []
    this.earlyEnds = undefined
    for (const { tm, key } of early) this.onSourceEnd(tm, key)
  }

  /** The reader events for a task manager so far; they go with its deployment. */
  takeBufferedEvents(tm: TaskManagerRecord): ReaderEventParams[] {
    const events = this.buffered?.get(tm) ?? []
    this.buffered?.delete(tm)
    return events
  }

  /** Every task manager has its subtasks: events held back meanwhile go out, later ones directly. */
  deployed(): void {
    const held = this.buffered
    this.buffered = undefined
    for (const [tm, events] of held ?? []) if (!tm.lost) for (const e of events) tm.peer.notify('readerEvent', e as unknown as Payload)
  }

  snapshotEnumerators(checkpointId: number): { uid: string; state: unknown }[] {
    return [...this.sources.values()].map((s) => ({ uid: s.uid, state: s.coordinator.snapshotState(checkpointId) }))
  }

  onReaderRequest(p: ReaderRequestParams): void {
    const source = this.sources.get(p.vertex)
    if (!source || this.settled) return
    if (p.kind === 'request-split') source.coordinator.requestSplit(p.subtask)
    else source.coordinator.registerReader(p.subtask)
  }

  onTaskEnded(tm: TaskManagerRecord, p: TaskEndedParams): void {
    if (this.running.get(p.key) !== tm) return
    this.running.delete(p.key)
    if (p.outcome === 'failed') {
      const remote = p.error ?? { message: 'unknown failure' }
      this.fail(new RemoteError(remote, `${this.job.name} ${p.key} on ${tm.id}: `))
    }
    this.check()
  }

  /** The subtasks of a task manager whose deployment failed never run. */
  onDeployFailed(tm: TaskManagerRecord): void {
    for (const [key, at] of [...this.running]) if (at === tm) this.running.delete(key)
    this.check()
  }

  onTaskManagerLost(tm: TaskManagerRecord, reason: string): void {
    for (const [key, at] of [...this.running]) if (at === tm) this.running.delete(key)
    this.fail(new WeirError('TASK_MANAGER_LOST', `${describe(tm)} lost: ${reason}`))
    this.check()
  }

  /** Fails the attempt: the first failure is its cause; every other subtask is cancelled. */
  fail(error: Error): void {
    this.failure ??= error
    this.cancel()
  }

  cancel(): void {
    if (this.cancelled) return
    this.cancelled = true
    for (const tm of new Set(this.running.values())) if (!tm.lost) tm.peer.notify('cancel', { stream: this.stream })
    this.check()
  }

  private check(): void {
    if (this.settled || this.running.size > 0) return
    this.settled = true
    for (const { coordinator } of this.sources.values()) coordinator.close()
    for (const [tm, count] of this.slotsPerTaskManager) {
      tm.attempts.delete(this)
      if (!tm.lost) this.coordinator.releaseSlots(tm, count)
    }
    if (this.failure) this.settle.reject(this.failure)
    else if (this.cancelled) this.settle.reject(new TaskCancelledError(`'${this.job.name}' (all)`))
    else this.settle.resolve()
  }
}
