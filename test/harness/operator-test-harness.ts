import type { OutputTag } from '../../src/api/output-tag.ts'
import type { OperatorSubtaskState } from '../../src/checkpoint/operator-subtask-state.ts'
import type { KeySelector, OperatorContext, StreamOperator } from '../../src/operators/stream-operator.ts'
import { restoreOperator, snapshotOperator, type OperatorBackends } from '../../src/runtime/operator-state-handles.ts'
import { heapStateBackend } from '../../src/state/heap-state-backend.ts'
import { DEFAULT_MAX_PARALLELISM, keyGroupRangeForSubtask, type KeyGroupRange } from '../../src/state/key-groups.ts'
import type { KeyedStateBackend } from '../../src/state/keyed-state-backend.ts'
import type { OperatorStateBackend } from '../../src/state/operator-state-backend.ts'
import type { StateBackend } from '../../src/state/state-backend.ts'
import type { TtlTimeProvider } from '../../src/state/ttl.ts'
import { HeapTimeServiceManager } from '../../src/time/heap-timer-service.ts'
import { ManualProcessingTimeService } from '../../src/time/manual-processing-time-service.ts'
import { CollectingOutput, type EmittedEvent, type EmittedRecord } from './collecting-output.ts'

/** Where the harnessed operator runs and what it is given. */
export interface HarnessOptions {
  /** Default 0. */
  subtaskIndex?: number
  /** Default 1. */
  parallelism?: number
  /** Default 128. Restoring needs the max parallelism the snapshots were taken with. */
  maxParallelism?: number
  /** Default: the heap backend. Pass another to run the same test against it. */
  stateBackend?: StateBackend
  operatorName?: string
  uid?: string
  jobId?: string
  /** Start of the manual processing-time clock; default 0. */
  initialProcessingTime?: number
  /** Clock of state TTL; default the harness's processing time, so TTL tests stay deterministic. */
  ttlTimeProvider?: TtlTimeProvider
  /** Default 0, or 1 when restored from snapshots, as after a restart. */
  attemptNumber?: number
  /** Default `test-attempt-<attemptNumber>`. */
  attemptId?: string
  /** Default true: tests take snapshots, so operators that act on checkpoints should expect them. */
  checkpointingEnabled?: boolean
}

/** Key selectors of the inputs, as the subclasses type them; either one makes the operator keyed. */
interface InputKeySelectors {
  keySelector?: KeySelector<never>
  keySelector2?: KeySelector<never>
}

type Phase = 'created' | 'initialized' | 'open' | 'closed'

/**
 * Runs one operator instance outside a task, as the runtime would for one subtask: a keyed backend
 * over the subtask's key-group range with timers when a key selector is given, an operator backend,
 * and a processing-time clock the test moves. What the operator emits is kept for assertions.
 * Errors the operator throws reach the caller unchanged (the runtime would wrap them).
 */
export abstract class AbstractOperatorTestHarness<OUT, OP extends StreamOperator<OUT>> {
  readonly operator: OP
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly maxParallelism: number
  readonly keyGroupRange: KeyGroupRange
  readonly processingTimeService: ManualProcessingTimeService
  private readonly collected = new CollectingOutput<OUT>()
  private readonly options: HarnessOptions & InputKeySelectors
  private backends: OperatorBackends | undefined
  private restored = false
  private phase: Phase = 'created'

  constructor(factory: () => OP, options: HarnessOptions & InputKeySelectors = {}) {
    this.options = options
    this.subtaskIndex = options.subtaskIndex ?? 0
    this.parallelism = options.parallelism ?? 1
    this.maxParallelism = options.maxParallelism ?? DEFAULT_MAX_PARALLELISM
    // Validates index, parallelism and max parallelism together before anything is built.
    this.keyGroupRange = keyGroupRangeForSubtask(this.maxParallelism, this.parallelism, this.subtaskIndex)
    this.processingTimeService = new ManualProcessingTimeService(options.initialProcessingTime ?? 0)
    this.operator = factory()
  }

  /** Whether the operator has keyed state and timers (a key selector was given). */
  get isKeyed(): boolean {
    return this.options.keySelector !== undefined || this.options.keySelector2 !== undefined
  }

  /** Whether the backends were restored from snapshots. */
  get isRestored(): boolean {
    return this.restored
  }

  /** The keyed backend, once initialized; undefined for non-keyed operators. */
  get keyedBackend(): KeyedStateBackend | undefined {
    return this.backends?.keyed
  }

  /** The operator backend, once initialized. */
  get operatorBackend(): OperatorStateBackend {
    return this.requireBackends().operator
  }

  /**
   * Creates the backends, restores them from the snapshots of every old subtask (any old
   * parallelism) when `states` is given, then runs the operator's `setup` and `initializeState`.
   * Given states mark the operator restored even when they hold nothing, as a restored job does.
   */
  initializeState(states?: readonly OperatorSubtaskState[]): void {
    if (this.phase !== 'created') throw new Error(`initializeState() must come first; the harness is already ${this.phase}`)
    const { stateBackend = heapStateBackend(), operatorName = 'test-operator' } = this.options
    const keyed = this.isKeyed
      ? stateBackend.createKeyedBackend({
          maxParallelism: this.maxParallelism,
          keyGroupRange: this.keyGroupRange,
          operatorName,
          timeProvider: this.options.ttlTimeProvider ?? this.processingTimeService,
        })
      : undefined
    const timers = keyed ? new HeapTimeServiceManager(keyed, this.processingTimeService, this.keyGroupRange, this.maxParallelism) : undefined
    this.backends = { keyed, operator: stateBackend.createOperatorBackend(this.subtaskIndex), timers }
    if (states !== undefined) {
      restoreOperator(this.backends, states, this.subtaskIndex, this.parallelism)
      this.restored = true
    }
    this.operator.setup(this.context(operatorName), this.collected)
    this.phase = 'initialized'
    this.operator.initializeState()
  }

  /** Initializes empty state if `initializeState` was not called, then opens the operator. */
  open(): this {
    if (this.phase === 'created') this.initializeState()
    if (this.phase !== 'initialized') throw new Error(`open() needs an initialized harness; it is ${this.phase}`)
    this.phase = 'open'
    this.operator.open()
    return this
  }

  /** Moves processing time to `time`, firing due processing-time timers in time order. */
  setProcessingTime(time: number): void {
    this.processingTimeService.setProcessingTime(time)
  }

  /** The current processing time. */
  get processingTime(): number {
    return this.processingTimeService.now()
  }

  /** Runs the operator's `snapshotState`, then takes the state of its backends, as a checkpoint does. */
  snapshot(checkpointId: number): OperatorSubtaskState {
    if (this.phase === 'closed') throw new Error('The harness is closed: its state was released')
    const backends = this.requireBackends()
    this.operator.snapshotState(checkpointId)
    return snapshotOperator(backends)
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.operator.notifyCheckpointComplete(checkpointId)
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.operator.notifyCheckpointAborted(checkpointId)
  }

  /** End of all input: the operator flushes what it buffers. */
  async finish(): Promise<void> {
    await this.operator.finish()
  }

  /** Closes the operator and releases the backends and the clock. Safe to call twice. */
  async close(): Promise<void> {
    if (this.phase === 'closed') return
    const wasOpen = this.phase === 'open'
    this.phase = 'closed'
    try {
      if (wasOpen) await this.operator.close()
    } finally {
      this.processingTimeService.shutdown()
      this.backends?.timers?.dispose()
      this.backends?.keyed?.dispose()
    }
  }

  /** Records of the main output, with timestamps, in emission order. */
  get output(): EmittedRecord<OUT>[] {
    return this.collected.records
  }

  /** Just the values of the main output. */
  extractOutputValues(): OUT[] {
    return this.collected.records.map((r) => r.value)
  }

  /** Watermarks the operator forwarded. */
  get watermarks(): number[] {
    return this.collected.watermarks
  }

  /** Main-output records and watermarks interleaved as emitted. */
  get events(): EmittedEvent<OUT>[] {
    return this.collected.events
  }

  /** Records sent to a side output. */
  sideOutput<S>(tag: OutputTag<S>): EmittedRecord<S>[] {
    return this.collected.sideOutput(tag)
  }

  /** Forgets what was emitted so far. */
  clearOutput(): void {
    this.collected.clear()
  }

  /** (key, namespace) entries over all keyed states; 0 for non-keyed operators. */
  numKeyedStateEntries(): number {
    return this.backends?.keyed?.numEntries() ?? 0
  }

  /** Pending timers (event and processing time, restored ones included); 0 when not keyed. */
  numTimers(): number {
    return this.backends?.timers?.numTimers() ?? 0
  }

  /**
   * Runs `fn` with `key` current in the keyed backend, to read or write a key's state from the test.
   * Goes through the same key-group check as a record, so a key of another subtask is refused.
   */
  withCurrentKey<R>(key: unknown, fn: (backend: KeyedStateBackend) => R): R {
    const backend = this.backends?.keyed
    if (!backend) throw new Error('The harness has no keyed state: give a key selector and initialize it first')
    backend.setCurrentKey(key)
    return fn(backend)
  }

  /** Refuses input before `open()` and after `close()`, where the operator has no context. */
  protected checkOpen(): void {
    if (this.phase !== 'open') throw new Error(`The harness is ${this.phase}; call open() before sending input`)
  }

  private requireBackends(): OperatorBackends {
    if (!this.backends) throw new Error('The harness has no state yet; call initializeState() or open() first')
    return this.backends
  }

  private get attemptNumber(): number {
    return this.options.attemptNumber ?? (this.restored ? 1 : 0)
  }

  private context(operatorName: string): OperatorContext {
    const backends = this.requireBackends()
    return {
      jobId: this.options.jobId ?? 'test-job',
      operatorName,
      uid: this.options.uid ?? operatorName,
      subtaskIndex: this.subtaskIndex,
      parallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
      keyedBackend: backends.keyed,
      operatorBackend: backends.operator,
      processingTime: this.processingTimeService,
      keySelector: this.options.keySelector as KeySelector<unknown> | undefined,
      keySelector2: this.options.keySelector2 as KeySelector<unknown> | undefined,
      timeServiceManager: backends.timers,
      isRestored: this.restored,
      attemptNumber: this.attemptNumber,
      attemptId: this.options.attemptId ?? `test-attempt-${this.attemptNumber}`,
      checkpointingEnabled: this.options.checkpointingEnabled ?? true,
    }
  }
}
