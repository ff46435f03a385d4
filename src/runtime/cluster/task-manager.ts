import { connect } from 'node:net'
import type { Logger } from 'pino'
import type { SourceSplit } from '../../api/connector/source.ts'
import { internalPackr } from '../../api/serialization/types.ts'
import type { EnvironmentConfig } from '../../api/stream-environment.ts'
import type { CheckpointStorage } from '../../checkpoint/checkpoint-storage.ts'
import type { OperatorSubtaskState } from '../../checkpoint/operator-subtask-state.ts'
import { FileSystemCheckpointStorage } from '../../checkpoint/filesystem-checkpoint-storage.ts'
import { WeirError } from '../../errors.ts'
import type { JobGraph } from '../../graph/job-graph.ts'
import { SourceOperator, type SourceCoordinatorGateway } from '../../operators/source/source-operator.ts'
import type { TaskCheckpointGateway } from '../checkpointing/task-checkpoint-gateway.ts'
import { LocalChannel } from '../io/local-channel.ts'
import { CheckpointBarrier } from '../io/stream-element.ts'
import { loadOperatorStates } from '../snapshot-restore.ts'
import { applyReaderEvent, type ReaderEvent } from '../source-coordinator.ts'
import { StreamTask, TaskCancelledError } from '../stream-task.ts'
import { buildTaskDeployments, planChannels } from '../task-deployments.ts'
import { hasBundle, storeBundle } from './bundle.ts'
import { buildJob, clusterStorage, type BuiltJob } from './job-loader.ts'
import { NetworkEnvironment } from './network.ts'
import type { RemoteInputChannel, RemoteOutputChannel } from './network-channels.ts'
import type {
  AckParams,
  AttemptFailedParams,
  ChannelMetrics,
  CheckpointNotifyParams,
  DeclineParams,
  DeployParams,
  JobMetrics,
  ReaderEventParams,
  ReaderRequestParams,
  RegisterParams,
  RegisterResult,
  StopParams,
  TaskEndedParams,
  TaskMetrics,
  TriggerParams,
} from './protocol.ts'
import { RpcPeer, serializeError, type Payload } from './rpc.ts'

/** Settings of a task manager process. */
export interface TaskManagerOptions {
  coordinatorHost: string
  coordinatorPort: number
  slots: number
  /** Address the data server binds; default all interfaces. */
  bindHost?: string
  /** Address other task managers use to reach this one; default the address it reaches the coordinator from. */
  advertisedHost?: string
  /** Port of the data server; default any free one. */
  dataPort?: number
  /** Wait this long between attempts to reach a lost coordinator. */
  reconnectDelayMs?: number
  log: Logger
}

/** One attempt's subtasks on this task manager. */
interface TaskManagerAttempt {
  params: DeployParams
  graph: JobGraph
  tasks: Map<string, StreamTask>
  local: LocalChannel[]
  outputs: RemoteOutputChannel[]
  inputs: RemoteInputChannel[]
  batchSize: number
  cancelled: boolean
  /** A task failed or was cancelled: the attempt's channels are dropped when it ends. */
  failed: boolean
  running: number
  /** Source-end waits of tasks, resolved when the coordinator says the final checkpoint is done. */
  sourceEnds: Map<string, () => void>
}

/** Attempts kept for metrics after they ended (tests read channel figures of finished jobs). */
const RETAINED_ENDED_ATTEMPTS = 16

/**
 * A task manager: registers its slots with the coordinator, runs the subtasks it is given (local
 * channels between its own subtasks, network channels to other task managers), and reports task
 * ends, checkpoint acknowledgements and reader requests. When it loses the coordinator it cancels
 * every task and registers again.
 */
export class TaskManager {
  private readonly network: NetworkEnvironment
  private peer: RpcPeer | undefined
  private id: string | undefined
  private dataPort = 0
  private readonly attempts = new Map<number, TaskManagerAttempt>()
  private readonly ended: TaskManagerAttempt[] = []
  private readonly jobs = new Map<string, Promise<BuiltJob>>()
  /** The attempts each job ran here, whose network channels go when the job ends. */
  private readonly streamsOfJob = new Map<string, Set<number>>()
  private stopped = false
  private reconnect: NodeJS.Timeout | undefined
  /** Settles when the current registration has its answer. */
  private registration: Promise<void> = Promise.resolve()
  private readonly log: Logger

  constructor(private readonly options: TaskManagerOptions) {
    this.log = options.log
    this.network = new NetworkEnvironment(options.bindHost ?? '0.0.0.0')
    this.network.onPeerLost = (peerId, streams, reason) => {
      for (const stream of streams) {
        const attempt = this.attempts.get(stream)
        if (!attempt || attempt.cancelled) continue
        this.log.warn({ peer: peerId, job: attempt.params.jobName, stream }, `data connection to ${peerId} lost: ${reason}`)
        const params: AttemptFailedParams = { stream, peer: peerId, error: serializeError(new WeirError('DATA_CONNECTION_LOST', `Data connection from ${this.id} to ${peerId} lost: ${reason}`)) }
        this.peer?.notify('attemptFailed', params as unknown as Payload)
      }
    }
  }

  /** This task manager's id, once registered. */
  get taskManagerId(): string | undefined {
    return this.id
  }

  /** Starts the data server and registers with the coordinator. */
  async start(): Promise<void> {
    this.dataPort = await this.network.start(this.options.dataPort ?? 0)
    await this.register()
  }

  /** Cancels every task and disconnects. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.reconnect) clearTimeout(this.reconnect)
    await this.cancelAll()
    this.peer?.close('the task manager is stopping')
    await this.network.close()
  }

  private async register(): Promise<void> {
    let registered!: () => void
    this.registration = new Promise<void>((resolve) => (registered = resolve))
    const { coordinatorHost, coordinatorPort } = this.options
    const socket = connect(coordinatorPort, coordinatorHost)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    const peer = new RpcPeer(socket, {
      onMessage: (method, params) => this.onMessage(method, params),
      onRequest: (method, params) => this.onRequest(method, params),
      onLost: (reason) => this.onCoordinatorLost(peer, reason),
    })
    this.peer = peer
    const params: RegisterParams = { slots: this.options.slots, dataHost: this.options.advertisedHost ?? socket.localAddress ?? '127.0.0.1', dataPort: this.dataPort, pid: process.pid }
    const result = await peer.request<RegisterResult>('register', params as unknown as Payload)
    this.id = result.id
    this.network.setIdentity(result.id)
    registered()
    peer.startHeartbeats(result.heartbeat)
    this.log.info({ id: result.id, slots: this.options.slots, dataPort: this.dataPort, coordinator: `${coordinatorHost}:${coordinatorPort}` }, `registered as ${result.id}`)
  }

  private onCoordinatorLost(peer: RpcPeer, reason: string): void {
    if (this.peer !== peer) return
    this.peer = undefined
    if (this.stopped) return
    this.log.warn({ id: this.id }, `lost the coordinator (${reason}); cancelling ${this.attempts.size} attempt(s) and registering again`)
    void this.cancelAll().then(() => this.scheduleReconnect())
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnect) return
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined
      this.register().catch((error: unknown) => {
        this.log.debug({ err: error }, 'coordinator not reachable yet')
        this.scheduleReconnect()
      })
    }, this.options.reconnectDelayMs ?? 1000)
  }

  private async cancelAll(): Promise<void> {
    const running = [...this.attempts.values()]
    for (const attempt of running) this.cancelAttempt(attempt)
    await Promise.all(running.map((a) => a.tasks.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.whenEnded(a, resolve))))
  }

  private readonly endWaiters = new Map<TaskManagerAttempt, (() => void)[]>()
  /** Attempts cancelled while their deployment was still in progress here. */
  private readonly earlyCancels = new Set<number>()

  private rememberCancel(stream: number): void {
    this.earlyCancels.add(stream)
    // Cancels of attempts that never come are forgotten eventually.
    if (this.earlyCancels.size > 1000) this.earlyCancels.delete(this.earlyCancels.values().next().value!)
  }

  private whenEnded(attempt: TaskManagerAttempt, callback: () => void): void {
    if (!this.attempts.has(attempt.params.stream)) return callback()
    let list = this.endWaiters.get(attempt)
    if (!list) this.endWaiters.set(attempt, (list = []))
    list.push(callback)
  }

  private send(method: string, params: object): void {
    this.peer?.notify(method, params as Payload)
  }

  private onMessage(method: string, payload: Payload): void {
    switch (method) {
      case 'cancel': {
        const stream = payload.stream as number
        const attempt = this.attempts.get(stream)
        if (attempt) this.cancelAttempt(attempt)
        else this.rememberCancel(stream)
        return
      }
      case 'trigger': {
        const p = payload as unknown as TriggerParams
        this.attempts.get(p.stream)?.tasks.get(p.key)?.triggerCheckpoint(new CheckpointBarrier(p.barrier.id, p.barrier.timestamp, p.barrier.options))
        return
      }
      case 'stop': {
        const p = payload as unknown as StopParams
        this.attempts.get(p.stream)?.tasks.get(p.key)?.requestStop(p.drain)
        return
      }
      case 'complete':
      case 'aborted': {
        const p = payload as unknown as CheckpointNotifyParams
        const attempt = this.attempts.get(p.stream)
        for (const key of p.keys) {
          const task = attempt?.tasks.get(key)
          if (method === 'complete') task?.notifyCheckpointComplete(p.checkpointId)
          else task?.notifyCheckpointAborted(p.checkpointId)
        }
        return
      }
      case 'sourceEndDone': {
        const p = payload as { stream: number; key: string }
        const attempt = this.attempts.get(p.stream)
        const resolve = attempt?.sourceEnds.get(p.key)
        attempt?.sourceEnds.delete(p.key)
        resolve?.()
        return
      }
      case 'readerEvent':
        this.onReaderEvent(payload as unknown as ReaderEventParams)
        return
      case 'jobEnded': {
        const jobId = payload.jobId as string
        this.jobs.delete(jobId)
        for (const stream of this.streamsOfJob.get(jobId) ?? []) this.network.releaseStream(stream)
        this.streamsOfJob.delete(jobId)
        return
      }
      default:
        this.log.warn({ method }, 'unknown message from the coordinator')
    }
  }

  private async onRequest(method: string, payload: Payload): Promise<unknown> {
    switch (method) {
      case 'deploy':
        return this.deploy(payload as unknown as DeployParams)
      case 'metrics':
        return this.metrics(payload.jobId as string)
      default:
        throw new WeirError('UNKNOWN_REQUEST', `Unknown request '${method}'`)
    }
  }

  private loadJob(p: DeployParams): Promise<BuiltJob> {
    let job = this.jobs.get(p.jobId)
    if (!job) {
      job = (async () => {
        if (!hasBundle(p.bundle)) {
          const { bytes } = await this.peer!.request<{ bytes: Uint8Array }>('bundle', { hash: p.bundle })
          await storeBundle(bytes)
        }
        return buildJob(p.bundle, p.jobName, p.args, p.parallelism)
      })()
      this.jobs.set(p.jobId, job)
      job.catch(() => this.jobs.delete(p.jobId))
    }
    return job
  }

  /** Creates the attempt's subtasks here; answers once they exist (and their state is read), then runs them. */
  private async deploy(p: DeployParams): Promise<{ ok: true }> {
    // A deployment may arrive in the same read as the answer to the registration.
    await this.registration
    const self = this.id!
    const peer = this.peer
    const { env, graph } = await this.loadJob(p)
    const uids = new Set(graph.vertices.flatMap((v) => (p.placement[v.id].includes(self) ? v.nodes.map((n) => n.uid) : [])))
    const checkpointing = env.config.checkpointing
    const storage: CheckpointStorage | undefined = checkpointing ? clusterStorage(checkpointing.storage, p.checkpointDir)(p.jobId) : undefined
    let restored
    if (p.restore) {
      const read = storage ?? new FileSystemCheckpointStorage(p.checkpointDir, p.jobId)
      try {
        restored = await loadOperatorStates(p.restore, (h, f) => read.readSubtaskState(h, f), uids)
      } catch (error) {
        // The code tells the coordinator to try an older checkpoint.
        throw new WeirError('SNAPSHOT_RESTORE_FAILED', `Task manager ${self} cannot read ${p.restore.kind} ${p.restore.checkpointId}: ${(error as Error).message}`)
      }
    }
    // The coordinator this deployment came from is gone (or this task manager registered again):
    // the attempt is over, and its tasks must not start.
    if (this.peer !== peer || !peer || peer.isLost) throw new WeirError('DEPLOY_OBSOLETE', `Task manager ${self} lost the coordinator while deploying`)
    const attempt: TaskManagerAttempt = { params: p, graph, tasks: new Map(), local: [], outputs: [], inputs: [], batchSize: env.config.batchSize, cancelled: false, failed: false, running: 0, sourceEnds: new Map() }
    this.attempts.set(p.stream, attempt)
    let streams = this.streamsOfJob.get(p.jobId)
    if (!streams) this.streamsOfJob.set(p.jobId, (streams = new Set()))
    streams.add(p.stream)
    try {
      this.createTasks(attempt, env.config, storage, restored)
    } catch (error) {
      this.attempts.delete(p.stream)
      this.network.releaseStream(p.stream)
      throw error
    }
    for (const event of p.readerEvents) this.onReaderEvent(event)
    // Cancelled while it was being deployed: its tasks end (as cancelled) as soon as they start.
    if (this.earlyCancels.delete(p.stream)) this.cancelAttempt(attempt)
    // Tasks start after the answer is on its way, so the coordinator never hears of a task end
    // before it knows the deployment succeeded.
    setImmediate(() => this.runTasks(attempt))
    this.log.info({ job: p.jobName, jobId: p.jobId, attempt: p.attemptNumber, stream: p.stream, tasks: [...attempt.tasks.keys()] }, `deployed ${attempt.tasks.size} subtask(s) of '${p.jobName}'`)
    return { ok: true }
  }

  private createTasks(attempt: TaskManagerAttempt, config: EnvironmentConfig, storage: CheckpointStorage | undefined, restored: Map<string, OperatorSubtaskState[]> | undefined): void {
    const p = attempt.params
    const graph = attempt.graph
    const self = this.id!
    const gateway = this.checkpointGateway(attempt)
    const savepointStorages = new Map<string, CheckpointStorage>()
    const subtasks = buildTaskDeployments(
      graph,
      planChannels(graph),
      (vertex, subtask) => p.placement[vertex][subtask] === self,
      (spec) => {
        const producer = p.placement[spec.edge.sourceVertex][spec.sourceSubtask]
        const consumer = p.placement[spec.edge.targetVertex][spec.targetSubtask]
        if (producer === self && consumer === self) {
          const channel = new LocalChannel(config.channelCapacity, spec.name)
          attempt.local.push(channel)
          return { input: channel, output: channel }
        }
        if (producer === self) {
          const channel = this.network.createOutput(consumer, p.peers[consumer], p.stream, spec.index, p.networkBuffers, spec.name)
          attempt.outputs.push(channel)
          return { input: undefined, output: channel }
        }
        const channel = this.network.createInput(producer, p.peers[producer], p.stream, spec.index, p.networkBuffers, spec.name)
        attempt.inputs.push(channel)
        return { input: channel, output: undefined }
      },
      (vertex) => (graph.vertices[vertex].nodes[0].kind === 'source' ? this.readerGateway(p.stream, vertex) : undefined),
      {
        jobId: p.jobId,
        stateBackend: config.stateBackend,
        batchSize: config.batchSize,
        attemptNumber: p.attemptNumber,
        attemptId: p.attemptId,
        checkpointing: storage
          ? {
              storage,
              gateway,
              savepointStorage: (directory) => {
                let s = savepointStorages.get(directory)
                if (!s) savepointStorages.set(directory, (s = new FileSystemCheckpointStorage(directory, p.jobId, { savepointDir: directory })))
                return s
              },
            }
          : undefined,
        restored,
      },
    )
    for (const s of subtasks) {
      const task = new StreamTask(s.deployment)
      attempt.tasks.set(task.key, task)
    }
  }

  private runTasks(attempt: TaskManagerAttempt): void {
    const { stream } = attempt.params
    if (attempt.tasks.size === 0) {
      this.endAttempt(attempt)
      return
    }
    for (const task of attempt.tasks.values()) {
      attempt.running++
      if (attempt.cancelled) task.cancel()
      void task.run().then(
        () => this.taskEnded(attempt, { stream, key: task.key, outcome: 'finished', error: null }),
        (error: unknown) => {
          const cancelled = error instanceof TaskCancelledError || (task.wasCancelled && attempt.cancelled)
          if (!cancelled) this.log.warn({ job: attempt.params.jobName, task: task.name, err: error }, `task ${task.name} failed`)
          this.taskEnded(attempt, { stream, key: task.key, outcome: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : serializeError(error) })
        },
      )
    }
  }

  private taskEnded(attempt: TaskManagerAttempt, params: TaskEndedParams): void {
    if (params.outcome !== 'finished') attempt.failed = true
    this.send('taskEnded', params)
    if (--attempt.running === 0) this.endAttempt(attempt)
  }

  private endAttempt(attempt: TaskManagerAttempt): void {
    const { stream } = attempt.params
    if (this.attempts.get(stream) !== attempt) return
    this.attempts.delete(stream)
    // Output channels still sending (end of partition waiting for credit) finish on their own; a
    // cancelled attempt's channels are dropped.
    if (attempt.cancelled || attempt.failed) this.network.releaseStream(stream)
    this.ended.push(attempt)
    if (this.ended.length > RETAINED_ENDED_ATTEMPTS) this.ended.shift()
    for (const waiter of this.endWaiters.get(attempt) ?? []) waiter()
    this.endWaiters.delete(attempt)
  }

  private cancelAttempt(attempt: TaskManagerAttempt): void {
    if (attempt.cancelled) return
    attempt.cancelled = true
    for (const task of attempt.tasks.values()) task.cancel()
    // Cancelled tasks stop at their next step; their channels are dropped at once, so nothing
    // more of this attempt goes out.
    this.network.releaseStream(attempt.params.stream)
    for (const resolve of attempt.sourceEnds.values()) resolve()
    attempt.sourceEnds.clear()
  }

  private checkpointGateway(attempt: TaskManagerAttempt): TaskCheckpointGateway {
    const stream = attempt.params.stream
    return {
      acknowledge: (ack) => {
        const params: AckParams = { stream, ack }
        this.send('ack', params)
      },
      decline: (key, checkpointId, reason) => {
        const params: DeclineParams = { stream, key, checkpointId, reason: reason instanceof Error ? reason.message : String(reason) }
        this.send('decline', params)
      },
      sourceReachedEnd: (key) =>
        new Promise<void>((resolve) => {
          if (attempt.cancelled) return resolve()
          attempt.sourceEnds.set(key, resolve)
          this.send('sourceEnd', { stream, key })
        }),
    }
  }

  private readerGateway(stream: number, vertex: number): SourceCoordinatorGateway {
    const request = (subtask: number, kind: ReaderRequestParams['kind']): void => {
      const params: ReaderRequestParams = { stream, vertex, subtask, kind }
      this.send('readerRequest', params)
    }
    return {
      requestSplit: (subtask) => request(subtask, 'request-split'),
      registerReader: (subtask) => request(subtask, 'register'),
    }
  }

  private onReaderEvent(p: ReaderEventParams): void {
    const attempt = this.attempts.get(p.stream)
    const task = attempt?.tasks.get(p.key)
    if (!attempt || !task) return
    const vertex = attempt.graph.vertices[task.deployment.vertex.id]
    const serializer = vertex.nodes[0].source?.source.splitSerializer
    const event: ReaderEvent =
      p.kind === 'add-splits'
        ? { kind: 'add-splits', splits: p.splits.map((bytes) => (serializer ? serializer.deserialize(bytes) : (internalPackr.unpack(bytes) as SourceSplit))) }
        : { kind: 'no-more-splits' }
    task.mailbox.put(() => {
      const op = task.headOperator
      if (op instanceof SourceOperator) applyReaderEvent(op.reader, event)
    })
  }

  private metrics(jobId: string): JobMetrics {
    const self = this.id ?? '?'
    const channels: ChannelMetrics[] = []
    const tasks: TaskMetrics[] = []
    for (const attempt of [...this.ended, ...this.attempts.values()]) {
      if (attempt.params.jobId !== jobId) continue
      const { stream } = attempt.params
      const base = { taskManager: self, stream, batchSize: attempt.batchSize }
      for (const c of attempt.local) channels.push({ ...base, name: c.name, kind: 'local', capacity: c.capacity, maxQueuedRecords: c.maxQueuedRecords })
      for (const c of attempt.outputs) channels.push({ ...base, name: c.name, kind: 'network-out', capacity: c.capacity, maxQueuedRecords: c.maxQueuedRecords })
      for (const c of attempt.inputs) channels.push({ ...base, name: c.name, kind: 'network-in', capacity: c.capacity, maxQueuedRecords: c.maxQueuedRecords })
      for (const task of attempt.tasks.values()) {
        const head = task.metrics[0]
        tasks.push({ taskManager: self, stream, key: task.key, name: task.name, recordsIn: head?.recordsIn ?? 0, recordsOut: head?.recordsOut ?? 0 })
      }
    }
    return { channels, tasks }
  }
}
