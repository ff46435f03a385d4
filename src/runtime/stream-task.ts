import { WeirError } from '../errors.ts'
import type { JobEdge, JobVertex } from '../graph/job-graph.ts'
import type { StreamNode } from '../graph/stream-graph.ts'
import type { Output } from '../operators/output.ts'
import { SourceOperator, type SourceCoordinatorGateway } from '../operators/source/source-operator.ts'
import type { OneInputStreamOperator, OperatorContext, StreamOperator, TwoInputStreamOperator } from '../operators/stream-operator.ts'
import { keyGroupRangeForSubtask } from '../state/key-groups.ts'
import type { KeyedStateBackend, PendingKeyedSnapshot } from '../state/keyed-state-backend.ts'
import type { KeyedStateSnapshot } from '../state/snapshot.ts'
import type { StateBackend } from '../state/state-backend.ts'
import { HeapTimeServiceManager } from '../time/heap-timer-service.ts'
import { ChainingOutput, OperatorOutput, WriterOutput, wrapUserError } from './chain-outputs.ts'
import { createChannelSelector } from './io/channel-selector.ts'
import { InputGate, type GateChannel } from './io/input-gate.ts'
import type { OutputChannel } from './io/channel.ts'
import { RecordWriter, type BackpressureFlag } from './io/record-writer.ts'
import { CheckpointBarrier, EndOfPartition, RecordBatch, WatermarkEvent, WatermarkStatusEvent, type ChannelItem } from './io/stream-element.ts'
import type { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts'
import type { ChannelState, OperatorSubtaskState } from '../checkpoint/operator-subtask-state.ts'
import { internalPackr } from '../api/serialization/types.ts'
import { BarrierHandler, type BarrierDecision } from './checkpointing/barrier-handler.ts'
import type { TaskCheckpointGateway } from './checkpointing/task-checkpoint-gateway.ts'
import { restoreOperator, snapshotOperator } from './operator-state-handles.ts'
import { Mailbox } from './mailbox.ts'
import { Signal } from './signal.ts'
import { TaskProcessingTimeService } from './task-processing-time.ts'
import { OperatorMetrics, TaskTimeMetrics, type TaskWaitKind } from './operator-metrics.ts'

/** The channels of one output edge of a subtask, one per downstream subtask it writes to. */
export interface TaskOutputEdge {
  edge: JobEdge
  channels: OutputChannel[]
  targetMaxParallelism: number
}

/** Everything a subtask needs to run. */
export interface TaskDeployment {
  jobId: string
  vertex: JobVertex
  subtaskIndex: number
  inputs: GateChannel[]
  outputs: TaskOutputEdge[]
  stateBackend: StateBackend
  batchSize: number
  sourceGateway: SourceCoordinatorGateway | undefined
  /** 0 for the first run of the job, then one more per restart. */
  attemptNumber: number
  /** Unique per run of the job. */
  attemptId: string
  /** Set when the job takes checkpoints. */
  checkpointing: { storage: CheckpointStorage; gateway: TaskCheckpointGateway; savepointStorage: (directory: string) => CheckpointStorage } | undefined
  /** State to restore, per operator uid: the states of every old subtask. */
  restored: ReadonlyMap<string, readonly OperatorSubtaskState[]> | undefined
}

/** Thrown inside a task that was cancelled; never reported as the job's failure cause. */
export class TaskCancelledError extends WeirError {
  constructor(task: string) {
    super('TASK_CANCELLED', `Task ${task} was cancelled`)
  }
}

interface ChainMember {
  node: StreamNode
  operator: StreamOperator<unknown>
  keyedBackend: KeyedStateBackend | undefined
  operatorBackend: import('../state/operator-state-backend.ts').OperatorStateBackend
  timers: HeapTimeServiceManager | undefined
  metrics: OperatorMetrics
  /** The keyed snapshot still being serialized, if any. */
  pendingKeyed?: PendingKeyedSnapshot
}

const YIELD_EVERY_MS = 10
/** Entries a snapshot serializes between two turns of the task (about a millisecond of work). */
const SNAPSHOT_STEP_ENTRIES = 2000

/** A backend allows one pending snapshot: a new checkpoint finishes the previous one's serialization at once. */
function finishKeyedSnapshot(member: ChainMember): void {
  const pending = member.pendingKeyed
  if (!pending) return
  while (!pending.step(Number.MAX_SAFE_INTEGER)) {
    // steps until done
  }
  member.pendingKeyed = undefined
}

/**
 * One subtask of a job vertex: a chain of operators driven by a mailbox loop. It reads input batches
 * (or polls its source), runs mails (timers, split assignments) between batches, and stops producing
 * whenever one of its output channels is full.
 */
export class StreamTask {
  readonly name: string
  readonly signal = new Signal()
  readonly mailbox = new Mailbox(this.signal)
  private readonly processingTime = new TaskProcessingTimeService(this.mailbox)
  private readonly flag: BackpressureFlag = { blocked: false }
  private readonly writers: RecordWriter[] = []
  private readonly members: ChainMember[] = []
  private readonly gate: InputGate
  private head!: StreamOperator<unknown>
  private cancelled = false
  private closed = false
  /** Set on source tasks when the job is stopped with a savepoint. */
  private stopRequest: { drain: boolean } | undefined
  /** Set when an upstream task ended because the job was stopped (not drained). */
  private stoppedUpstream = false
  /** Whether this task told its consumers it is idle. */
  private idle = false
  private lastYield = 0
  private pending: { batch: RecordBatch; next: number; input: 1 | 2; channel: number } | undefined
  private readonly barriers: BarrierHandler
  /** Identifies the subtask to the coordinator. */
  readonly key: string
  /** Idle, back-pressured and busy time of this subtask. */
  readonly time = new TaskTimeMetrics()

  constructor(readonly deployment: TaskDeployment) {
    const { vertex, subtaskIndex } = deployment
    this.name = `'${vertex.name}' (${subtaskIndex + 1}/${vertex.parallelism})`
    this.gate = new InputGate(deployment.inputs)
    this.barriers = new BarrierHandler(this.gate)
    this.key = `${vertex.id}-${subtaskIndex}`
    for (const input of deployment.inputs) input.channel.consumer = this.signal
    for (const output of deployment.outputs) for (const c of output.channels) c.producer = this.signal
  }

  /** The first operator of the chain (the source operator of a source task). */
  get headOperator(): StreamOperator<unknown> | undefined {
    return this.members[0]?.operator
  }

  /** Counters of the chained operators, head first. */
  get metrics(): readonly OperatorMetrics[] {
    return this.members.map((m) => m.metrics)
  }

  /** Whether the chain starts with a source (checkpoints are triggered there). */
  get isSource(): boolean {
    return this.deployment.vertex.nodes[0].kind === 'source'
  }

  /** Whether `cancel` was called. */
  get wasCancelled(): boolean {
    return this.cancelled
  }

  /** Asks the task to stop at its next step. */
  cancel(): void {
    this.cancelled = true
    this.signal.notify()
  }

  /** Runs the subtask to its end; rejects with the cause when it fails. */
  async run(): Promise<void> {
    try {
      this.buildChain()
      for (const m of this.members) m.operator.initializeState()
      // Open from the tail so that every operator's consumers are ready before it emits.
      for (let i = this.members.length - 1; i >= 0; i--) await this.members[i].operator.open()
      this.restoreChannelState()
      if (this.head instanceof SourceOperator) await this.runSource(this.head)
      else await this.runInputs()
      // Stopped without drain: the job resumes from the savepoint, so nothing is flushed now.
      const stopped = this.stopRequest ? !this.stopRequest.drain : this.stoppedUpstream
      if (!stopped) for (const m of this.members) await m.operator.finish()
      if (this.head instanceof SourceOperator && this.deployment.checkpointing) await this.awaitFinalCheckpoint()
      for (const w of this.writers) w.emitEvent(stopped ? EndOfPartition.STOPPED : EndOfPartition.INSTANCE)
      await this.drainAll()
      this.closed = true
      for (const m of this.members) await m.operator.close()
    } finally {
      // A snapshot started before a cancel must end before the task does: the next attempt may
      // clean up what it is still writing.
      if (this.checkpointInProgress) await this.checkpointInProgress.catch(() => {})
      this.time.end()
      this.processingTime.shutdown()
      if (!this.closed) {
        // Failed or cancelled: release what operators hold (files, connections), ignoring errors.
        for (const m of this.members) await Promise.resolve().then(() => m.operator.close()).catch(() => {})
      }
      for (const m of this.members) {
        m.timers?.dispose()
        m.keyedBackend?.dispose()
      }
    }
  }

  private buildChain(): void {
    const { vertex, subtaskIndex } = this.deployment
    const operators = new Map<number, StreamOperator<unknown>>()
    const metrics = new Map<number, OperatorMetrics>(vertex.nodes.map((n) => [n.id, new OperatorMetrics(n.name, n.uid, subtaskIndex)]))
    // Build from the tail: each operator's output needs its chained consumers to exist.
    for (let i = vertex.nodes.length - 1; i >= 0; i--) {
      const node = vertex.nodes[i]
      const main: Output<unknown>[] = []
      const side = new Map<string, Output<unknown>[]>()
      const route = (tag: string | undefined, output: Output<unknown>): void => {
        if (tag === undefined) main.push(output)
        else {
          let list = side.get(tag)
          if (!list) side.set(tag, (list = []))
          list.push(output)
        }
      }
      for (const edge of vertex.chainedEdges) {
        if (edge.source !== node.id) continue
        const target = vertex.nodes.find((n) => n.id === edge.target)!
        route(edge.sideOutputTag, new ChainingOutput(operators.get(edge.target) as OneInputStreamOperator<unknown, unknown>, target.name, subtaskIndex, metrics.get(edge.target)!))
      }
      for (const out of this.deployment.outputs) {
        if (out.edge.sourceNode !== node.id) continue
        const selector = createChannelSelector(out.edge.partitioning, out.channels.length, subtaskIndex, out.targetMaxParallelism)
        const writer = new RecordWriter(out.channels, selector, this.deployment.batchSize, this.flag)
        this.writers.push(writer)
        route(out.edge.sideOutputTag, new WriterOutput(writer))
      }
      const member = this.createOperator(node, new OperatorOutput(main, side, metrics.get(node.id)!), metrics.get(node.id)!)
      operators.set(node.id, member.operator)
      this.members.unshift(member)
    }
    this.head = this.members[0].operator
  }

  private createOperator(node: StreamNode, output: Output<unknown>, metrics: OperatorMetrics): ChainMember {
    const { jobId, vertex, subtaskIndex, stateBackend } = this.deployment
    const keyed = node.keySelector1 !== undefined || node.keySelector2 !== undefined
    const range = keyGroupRangeForSubtask(node.maxParallelism, node.parallelism, subtaskIndex)
    const keyedBackend = keyed ? stateBackend.createKeyedBackend({ maxParallelism: node.maxParallelism, keyGroupRange: range, operatorName: node.name }) : undefined
    const timers = keyedBackend ? new HeapTimeServiceManager(keyedBackend, this.processingTime, range, node.maxParallelism) : undefined
    const operatorBackend = stateBackend.createOperatorBackend(subtaskIndex)
    const restored = this.deployment.restored?.get(node.uid)
    if (restored) restoreOperator({ keyed: keyedBackend, operator: operatorBackend, timers }, restored, subtaskIndex, vertex.parallelism)
    const ctx: OperatorContext = {
      jobId,
      operatorName: node.name,
      uid: node.uid,
      subtaskIndex,
      parallelism: vertex.parallelism,
      maxParallelism: node.maxParallelism,
      keyedBackend,
      operatorBackend,
      processingTime: this.processingTime,
      keySelector: node.keySelector1,
      keySelector2: node.keySelector2,
      timeServiceManager: timers,
      isRestored: restored !== undefined,
      attemptNumber: this.deployment.attemptNumber,
      attemptId: this.deployment.attemptId,
      checkpointingEnabled: this.deployment.checkpointing !== undefined,
    }
    let operator: StreamOperator<unknown>
    if (node.kind === 'source') {
      if (!this.deployment.sourceGateway) throw new WeirError('INTERNAL', `Source '${node.name}' has no coordinator`)
      operator = new SourceOperator(node.source!, this.deployment.sourceGateway, (idle) => this.setIdle(idle))
    } else {
      operator = node.factory!()
    }
    operator.setup(ctx, output)
    return { node, operator, keyedBackend, operatorBackend, timers, metrics }
  }

  private checkpointInProgress: Promise<void> | undefined
  /** An unaligned checkpoint's input recording: channels whose barrier has not arrived yet. */
  private recording: InputRecording | undefined
  /** In-flight input records of a restored unaligned checkpoint, processed before anything new. */
  private restoredInputs: { channel: number; batch: RecordBatch }[] = []
  private finalCheckpointDone = false
  /** Batches an unaligned barrier overtook in a network channel's receiving end: in-flight input of its checkpoint. */
  private overtaken: { checkpointId: number; channel: number; batches: RecordBatch[] }[] = []

  /** Coordinator entry point for source tasks: snapshot now and send the barrier downstream. */
  triggerCheckpoint(barrier: CheckpointBarrier): void {
    this.mailbox.put(() => this.performCheckpoint(barrier, 0))
  }

  /**
   * Coordinator entry point for source tasks: stop reading (the job is being stopped with a
   * savepoint). With `drain`, the end of event time is emitted first, so every window fires.
   */
  requestStop(drain: boolean): void {
    this.mailbox.put(() => {
      this.stopRequest = { drain }
    })
  }

  /** Coordinator entry point: checkpoint `id` is complete (sinks commit now). */
  notifyCheckpointComplete(checkpointId: number): void {
    this.mailbox.put(async () => {
      for (const m of this.members) await m.operator.notifyCheckpointComplete(checkpointId)
      for (const m of this.members) if (m.operator instanceof SourceOperator) m.operator.notifyCheckpointComplete(checkpointId)
    })
  }

  /** Coordinator entry point: checkpoint `id` will not complete. */
  notifyCheckpointAborted(checkpointId: number): void {
    this.mailbox.put(() => {
      for (const m of this.members) m.operator.notifyCheckpointAborted(checkpointId)
    })
  }

  /**
   * Takes this subtask's part of a checkpoint: operators move in-flight data into state, backends
   * are snapshotted, the barrier goes downstream, and the state is written and acknowledged while
   * processing goes on.
   */
  private async performCheckpoint(barrier: CheckpointBarrier, alignmentMs: number, pendingChannels?: number[]): Promise<void> {
    const checkpointing = this.deployment.checkpointing
    if (!checkpointing) return
    const started = performance.now()
    const states: { uid: string; state: OperatorSubtaskState }[] = []
    const keyedSnapshots: { state: OperatorSubtaskState; pending: PendingKeyedSnapshot; member: ChainMember }[] = []
    for (const m of this.members) {
      await m.operator.snapshotState(barrier.checkpointId)
      // Keyed state is only frozen here (copy on write); it is serialized after the barrier went on.
      finishKeyedSnapshot(m)
      const pending = m.keyedBackend?.beginSnapshot()
      const state = snapshotOperator({ keyed: undefined, operator: m.operatorBackend, timers: m.timers })
      states.push({ uid: m.node.uid, state })
      if (pending) {
        m.pendingKeyed = pending
        keyedSnapshots.push({ state, pending, member: m })
      }
    }
    let inFlight: Promise<ChannelState> | undefined
    if (barrier.options.unaligned) {
      const outputs = this.writers.map((w) => w.overtakeWith(barrier))
      if (this.recording) {
        checkpointing.gateway.decline(this.key, this.recording.checkpointId, new Error('a newer unaligned checkpoint started before its barriers all arrived'))
        this.recording.abandon()
      }
      const recording = new InputRecording(barrier.checkpointId, pendingChannels ?? [])
      // Read before the barrier but not processed yet: in the snapshot's future, so in-flight data.
      if (this.pending) recording.addConsumed(this.pending.channel, sliceBatch(this.pending.batch, this.pending.next))
      for (const r of this.restoredInputs) recording.addConsumed(r.channel, r.batch)
      this.addOvertaken(recording, barrier.checkpointId)
      this.recording = recording.isDone ? undefined : recording
      inFlight = recording.done.then((inputs) => {
        if (this.recording === recording) this.recording = undefined
        return encodeChannelState(inputs, outputs)
      })
    } else {
      for (const w of this.writers) w.emitEvent(barrier)
    }
    const syncMs = performance.now() - started
    const asyncStart = performance.now()
    const head = states[0].state
    const serialized = Promise.all(keyedSnapshots.map((k) => this.serializeInSteps(k.pending, k.member).then((keyed) => void (k.state.keyed = keyed))))
    const ready = Promise.all([serialized, inFlight ? inFlight.then((channels) => void (head.channels = channels)) : undefined])
    const storage = barrier.options.targetDirectory ? checkpointing.savepointStorage(barrier.options.targetDirectory) : checkpointing.storage
    void ready.then(() => Promise.all(
      states.map(async ({ uid, state }) => ({
        uid,
        handle: isEmpty(state) ? undefined : await storage.writeSubtaskState(barrier.checkpointId, barrier.options.kind, uid, this.deployment.subtaskIndex, state),
      })),
    )).then(
      (written) => {
        if (this.cancelled) return
        checkpointing.gateway.acknowledge({
          taskKey: this.key,
          checkpointId: barrier.checkpointId,
          states: written,
          syncMs,
          asyncMs: performance.now() - asyncStart,
          alignmentMs,
          bytes: written.reduce((n, w) => n + (w.handle?.size ?? 0), 0),
        })
      },
      (error: unknown) => checkpointing.gateway.decline(this.key, barrier.checkpointId, error),
    )
  }

  /**
   * Serializes a frozen keyed snapshot a slice at a time, yielding between slices so the task keeps
   * processing records (their writes are copied on write, away from the snapshot).
   */
  private async serializeInSteps(pending: PendingKeyedSnapshot, member: ChainMember): Promise<KeyedStateSnapshot> {
    while (!pending.step(SNAPSHOT_STEP_ENTRIES)) {
      if (this.cancelled) {
        pending.discard()
        throw new TaskCancelledError(this.name)
      }
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    if (member.pendingKeyed === pending) member.pendingKeyed = undefined
    return pending.result()
  }

  /** Keeps the mailbox running (checkpoints still trigger) until a checkpoint covering all input completed. */
  private async awaitFinalCheckpoint(): Promise<void> {
    this.flushWriters()
    void this.deployment.checkpointing!.gateway.sourceReachedEnd(this.key).then(() => {
      this.finalCheckpointDone = true
      this.signal.notify()
    })
    while (!this.finalCheckpointDone) {
      this.checkCancelled()
      if (!this.mailbox.isEmpty) await this.runMails()
      if (this.flag.blocked) this.drainWriters()
      if (!this.finalCheckpointDone) await this.waitFor('idle')
    }
    // Mails posted with the completion (notifications) run before the task ends.
    if (!this.mailbox.isEmpty) await this.runMails()
  }

  /** Re-sends in-flight output and queues in-flight input of a restored unaligned checkpoint. */
  private restoreChannelState(): void {
    const { vertex, subtaskIndex } = this.deployment
    const old = this.deployment.restored?.get(vertex.nodes[0].uid)
    if (!old || !old.some((s) => s.channels)) return
    if (old.length !== vertex.parallelism) {
      throw new WeirError(
        'UNALIGNED_RESCALE',
        `'${vertex.name}' was checkpointed unaligned at parallelism ${old.length} with records in flight; it cannot be restored at parallelism ${vertex.parallelism}. Take a savepoint (always aligned) to rescale`,
      )
    }
    const channels = old[subtaskIndex]?.channels
    if (!channels) return
    for (const { writer, channel, batches } of channels.outputs) this.writers[writer].restoreInFlight(channel, batches.map(decodeBatch))
    for (const { channel, batches } of channels.inputs) for (const bytes of batches) this.restoredInputs.push({ channel, batch: decodeBatch(bytes) })
  }

  private checkCancelled(): void {
    if (this.cancelled) throw new TaskCancelledError(this.name)
  }

  private async runMails(): Promise<void> {
    for (const mail of this.mailbox.takeAll()) {
      try {
        await mail()
      } catch (error) {
        throw wrapUserError(error, this.members[0]?.node.name ?? this.name, this.deployment.subtaskIndex, undefined, false)
      }
    }
  }

  private drainWriters(): boolean {
    let clear = true
    for (const w of this.writers) if (!w.drain()) clear = false
    this.flag.blocked = !clear
    return clear
  }

  private flushWriters(): void {
    for (const w of this.writers) w.flush()
  }

  private async drainAll(): Promise<void> {
    while (!this.drainWriters()) {
      this.checkCancelled()
      await this.waitFor('backpressured')
    }
  }

  private async waitFor(kind: TaskWaitKind): Promise<void> {
    this.time.beginWait(kind)
    try {
      await this.signal.wait()
    } finally {
      this.time.endWait()
    }
  }

  private async maybeYield(): Promise<void> {
    const now = performance.now()
    if (now - this.lastYield < YIELD_EVERY_MS) return
    this.lastYield = now
    // A macrotask turn, so timers, I/O and other tasks' wake-ups get their share of the one thread.
    await new Promise<void>((resolve) => setImmediate(resolve))
  }

  private async runSource(source: SourceOperator<unknown>): Promise<void> {
    for (;;) {
      this.checkCancelled()
      if (!this.mailbox.isEmpty) await this.runMails()
      if (this.stopRequest) return
      if (this.flag.blocked && !this.drainWriters()) {
        await this.waitFor('backpressured')
        continue
      }
      let status
      try {
        status = source.emitNext()
      } catch (error) {
        throw wrapUserError(error, this.members[0].node.name, this.deployment.subtaskIndex, undefined, false)
      }
      if (status === 'end') return
      if (status === 'nothing-available') {
        this.flushWriters()
        if (this.flag.blocked) continue
        void source.reader.isAvailable().then(() => this.signal.notify())
        await this.waitFor('idle')
        continue
      }
      await this.maybeYield()
    }
  }

  private async runInputs(): Promise<void> {
    for (;;) {
      this.checkCancelled()
      if (this.checkpointInProgress) {
        // Nothing, not even a timer mail, may run between the last barrier and the snapshot.
        const inProgress = this.checkpointInProgress
        this.checkpointInProgress = undefined
        await inProgress
      }
      if (!this.mailbox.isEmpty) await this.runMails()
      if (this.flag.blocked && !this.drainWriters()) {
        const priority = this.gate.pollPriorityBarrier()
        if (priority) this.onBarrier(priority.channel, priority.barrier)
        else await this.waitFor('backpressured')
        continue
      }
      if (this.pending) {
        this.processBatch(this.pending.batch, this.pending.next, this.pending.input, this.pending.channel)
        continue
      }
      const restoredInput = this.restoredInputs.shift()
      if (restoredInput) {
        this.processBatch(restoredInput.batch, 0, this.deployment.inputs[restoredInput.channel].inputIndex, restoredInput.channel)
        continue
      }
      const item = this.gate.poll()
      if (item === undefined) {
        if (this.gate.isEnded()) return
        this.flushWriters()
        if (this.flag.blocked) continue
        await this.waitFor('idle')
        continue
      }
      this.handle(item, this.gate.lastChannel)
      await this.maybeYield()
    }
  }

  private handle(item: ChannelItem, channel: number): void {
    const input = this.deployment.inputs[channel].inputIndex
    if (item instanceof RecordBatch) {
      this.recording?.record(channel, item)
      this.processBatch(item, 0, input, channel)
    }
    else if (item instanceof WatermarkEvent) {
      const wm = this.gate.onWatermark(channel, item.watermark)
      if (wm !== undefined) this.advanceWatermark(wm, input)
    } else if (item instanceof CheckpointBarrier) {
      this.onBarrier(channel, item)
    } else if (item instanceof WatermarkStatusEvent) {
      const wm = this.gate.onStatus(channel, item.idle)
      if (wm !== undefined) this.advanceWatermark(wm, input)
      this.updateIdleness(input)
    } else if (item instanceof EndOfPartition) {
      if (item.stopped) this.stoppedUpstream = true
      this.recording?.finish(channel)
      const wm = this.gate.onEnd(channel)
      if (wm !== undefined) this.advanceWatermark(wm, input)
      if (this.isTwoInput() && this.gate.isEnded(input) && !this.stoppedUpstream) {
        ;(this.head as TwoInputStreamOperator<unknown, unknown, unknown>).endInput(input)
      }
      this.updateIdleness(input)
      this.onDecision(this.barriers.onEndOfPartition())
    }
  }

  private onBarrier(channel: number, barrier: CheckpointBarrier): void {
    const overtaken = barrier.options.unaligned ? this.deployment.inputs[channel].channel.takeOvertaken?.(barrier.checkpointId) : undefined
    if (overtaken && overtaken.length > 0) this.overtaken.push({ checkpointId: barrier.checkpointId, channel, batches: overtaken })
    this.onDecision(this.barriers.onBarrier(channel, barrier))
  }

  /** Moves the batches barriers of `checkpointId` overtook into its recording (older ones are dropped). */
  private addOvertaken(recording: InputRecording, checkpointId: number): void {
    for (const o of this.overtaken) if (o.checkpointId === checkpointId) for (const b of o.batches) recording.addConsumed(o.channel, b)
    this.overtaken = this.overtaken.filter((o) => o.checkpointId > checkpointId)
  }

  /** Barrier decisions start snapshots; checkpoints run as mails so they await cleanly. */
  private onDecision(decision: BarrierDecision): void {
    if (decision.action === 'abort-and-none' || decision.action === 'abort-and-snapshot') {
      this.deployment.checkpointing?.gateway.decline(this.key, decision.abortedId, new Error('a newer checkpoint barrier overtook it'))
    }
    if (decision.action === 'snapshot' || decision.action === 'abort-and-snapshot') {
      const barrier = decision.barrier
      const alignmentMs = performance.now() - this.barriers.alignmentStart
      this.checkpointInProgress = this.performCheckpoint(barrier, alignmentMs)
    } else if (decision.action === 'snapshot-unaligned') {
      this.checkpointInProgress = this.performCheckpoint(decision.barrier, 0, decision.pendingChannels)
    } else if (decision.action === 'channel-barrier') {
      if (this.recording?.checkpointId === decision.checkpointId) {
        this.addOvertaken(this.recording, decision.checkpointId)
        this.recording.finish(decision.channel)
      }
    }
  }

  /** Propagates idleness: a task whose inputs are all idle is idle itself. */
  private updateIdleness(input: 1 | 2): void {
    if (this.isTwoInput()) {
      const head = this.head as TwoInputStreamOperator<unknown, unknown, unknown>
      head.processWatermarkStatus?.(input, this.gate.isIdle(input))
    }
    this.setIdle(this.gate.isIdle())
  }

  private setIdle(idle: boolean): void {
    if (idle === this.idle) return
    this.idle = idle
    for (const w of this.writers) w.emitWatermarkStatus(idle)
  }

  private isTwoInput(): boolean {
    return this.members[0].node.kind === 'two-input'
  }

  private advanceWatermark(watermark: number, input: 1 | 2): void {
    this.members[0].metrics.onInputWatermark(input, watermark, this.isTwoInput())
    try {
      if (this.isTwoInput()) {
        const head = this.head as TwoInputStreamOperator<unknown, unknown, unknown>
        if (input === 1) head.processWatermark1(watermark)
        else head.processWatermark2(watermark)
      } else {
        ;(this.head as OneInputStreamOperator<unknown, unknown>).processWatermark(watermark)
      }
    } catch (error) {
      throw wrapUserError(error, this.members[0].node.name, this.deployment.subtaskIndex, undefined, false)
    }
  }

  private processBatch(batch: RecordBatch, start: number, input: 1 | 2, channel: number): void {
    const { values, timestamps } = batch
    const n = values.length
    const flag = this.flag
    let i = start
    const metrics = this.members[0].metrics
    try {
      if (this.isTwoInput()) {
        const head = this.head as TwoInputStreamOperator<unknown, unknown, unknown>
        for (; i < n; ) {
          if (input === 1) head.processElement1(values[i], timestamps[i])
          else head.processElement2(values[i], timestamps[i])
          i++
          if (flag.blocked) break
        }
      } else {
        const head = this.head as OneInputStreamOperator<unknown, unknown>
        for (; i < n; ) {
          head.processElement(values[i], timestamps[i])
          i++
          if (flag.blocked) break
        }
      }
    } catch (error) {
      metrics.recordsIn += i - start
      throw wrapUserError(error, this.members[0].node.name, this.deployment.subtaskIndex, values[i])
    }
    metrics.recordsIn += i - start
    this.pending = i < n ? { batch, next: i, input, channel } : undefined
  }
}

function isEmpty(state: OperatorSubtaskState): boolean {
  return (
    (state.keyed === undefined || state.keyed.keyGroups.size === 0) &&
    state.operator.states.every((s) => (s.kind === 'list' ? s.elements.length === 0 : s.entries.length === 0)) &&
    (state.timers === undefined || state.timers.keyGroups.size === 0) &&
    state.channels === undefined
  )
}

/** Collects the records an unaligned checkpoint's channels deliver before their barriers. */
class InputRecording {
  private readonly pending: Set<number>
  private readonly batches = new Map<number, RecordBatch[]>()
  private resolve!: (inputs: Map<number, RecordBatch[]>) => void
  readonly done = new Promise<Map<number, RecordBatch[]>>((r) => (this.resolve = r))

  constructor(
    readonly checkpointId: number,
    channels: readonly number[],
  ) {
    this.pending = new Set(channels)
    if (this.pending.size === 0) this.resolve(this.batches)
  }

  get isDone(): boolean {
    return this.pending.size === 0
  }

  /** Adds records read before the barrier but not processed at the snapshot, whatever the channel. */
  addConsumed(channel: number, batch: RecordBatch): void {
    let list = this.batches.get(channel)
    if (!list) this.batches.set(channel, (list = []))
    list.push(batch)
  }

  record(channel: number, batch: RecordBatch): void {
    if (!this.pending.has(channel)) return
    let list = this.batches.get(channel)
    if (!list) this.batches.set(channel, (list = []))
    list.push(batch)
  }

  finish(channel: number): void {
    if (this.pending.delete(channel) && this.pending.size === 0) this.resolve(this.batches)
  }

  /** Never completes: a newer checkpoint replaced it. */
  abandon(): void {
    this.pending.clear()
  }
}

function sliceBatch(batch: RecordBatch, from: number): RecordBatch {
  return new RecordBatch(batch.values.slice(from), batch.timestamps.slice(from))
}

function encodeBatch(batch: RecordBatch): Uint8Array {
  return internalPackr.pack([batch.values, batch.timestamps])
}

function encodeChannelState(inputs: Map<number, RecordBatch[]>, outputs: RecordBatch[][][]): ChannelState {
  return {
    inputs: [...inputs].map(([channel, batches]) => ({ channel, batches: batches.map(encodeBatch) })),
    outputs: outputs.flatMap((perChannel, writer) =>
      perChannel.flatMap((batches, channel) => (batches.length === 0 ? [] : [{ writer, channel, batches: batches.map(encodeBatch) }])),
    ),
  }
}

/** Decodes a batch of in-flight records stored by an unaligned checkpoint. */
export function decodeBatch(bytes: Uint8Array): RecordBatch {
  const [values, timestamps] = internalPackr.unpack(bytes) as [unknown[], number[]]
  return new RecordBatch(values, timestamps)
}
