import type { OutputTag } from '../../src/api/output-tag.ts'
import type { OperatorSubtaskState } from '../../src/checkpoint/operator-subtask-state.ts'
import type { KeySelector, OneInputStreamOperator, StreamOperator, TwoInputStreamOperator } from '../../src/operators/stream-operator.ts'
import { DEFAULT_MAX_PARALLELISM, keyGroupForKey, operatorIndexForKeyGroup } from '../../src/state/key-groups.ts'
import { NO_TIMESTAMP } from '../../src/time/time.ts'
import type { EmittedRecord } from './collecting-output.ts'
import { OneInputOperatorTestHarness, type OneInputHarnessOptions } from './one-input-harness.ts'
import type { AbstractOperatorTestHarness, HarnessOptions } from './operator-test-harness.ts'
import { TwoInputOperatorTestHarness, type TwoInputHarnessOptions } from './two-input-harness.ts'

/** The subtask that owns `key` at `parallelism`, as hash partitioning by key group sends it. */
export function subtaskForKey(key: unknown, parallelism: number, maxParallelism = DEFAULT_MAX_PARALLELISM): number {
  return operatorIndexForKeyGroup(maxParallelism, parallelism, keyGroupForKey(key, maxParallelism))
}

/** Initializes a harness from `states` when given, else empty, and opens it. */
function open<H extends AbstractOperatorTestHarness<unknown, StreamOperator<unknown>>>(harness: H, states: readonly OperatorSubtaskState[] | undefined): H {
  harness.initializeState(states)
  harness.open()
  return harness
}

/** Group options: everything of a harness but the subtask, which the group assigns. */
type GroupOptions<O extends HarnessOptions> = Omit<O, 'subtaskIndex' | 'parallelism'> & { parallelism: number }

/**
 * All subtasks of one keyed operator at some parallelism, each in its own harness, with input
 * routed by key group as the runtime's hash partitioning does. Built from the snapshots of every
 * subtask of an earlier run at any parallelism, it is how rescaling is tested.
 */
abstract class HarnessGroup<OUT, H extends AbstractOperatorTestHarness<OUT, StreamOperator<OUT>>> {
  constructor(
    readonly harnesses: readonly H[],
    readonly maxParallelism: number,
  ) {}

  get parallelism(): number {
    return this.harnesses.length
  }

  /** The harness of the subtask that owns `key`. */
  harnessForKey(key: unknown): H {
    return this.harnesses[subtaskForKey(key, this.parallelism, this.maxParallelism)]
  }

  setProcessingTime(time: number): void {
    for (const h of this.harnesses) h.setProcessingTime(time)
  }

  /** The state of every subtask, in subtask order (the order a restore expects). */
  snapshot(checkpointId: number): OperatorSubtaskState[] {
    return this.harnesses.map((h) => h.snapshot(checkpointId))
  }

  notifyCheckpointComplete(checkpointId: number): void {
    for (const h of this.harnesses) h.notifyCheckpointComplete(checkpointId)
  }

  /** Main-output records of all subtasks, subtask after subtask. */
  get output(): EmittedRecord<OUT>[] {
    return this.harnesses.flatMap((h) => h.output)
  }

  extractOutputValues(): OUT[] {
    return this.harnesses.flatMap((h) => h.extractOutputValues())
  }

  sideOutput<S>(tag: OutputTag<S>): EmittedRecord<S>[] {
    return this.harnesses.flatMap((h) => h.sideOutput(tag))
  }

  clearOutput(): void {
    for (const h of this.harnesses) h.clearOutput()
  }

  numKeyedStateEntries(): number {
    return this.harnesses.reduce((n, h) => n + h.numKeyedStateEntries(), 0)
  }

  numTimers(): number {
    return this.harnesses.reduce((n, h) => n + h.numTimers(), 0)
  }

  async finish(): Promise<void> {
    for (const h of this.harnesses) await h.finish()
  }

  async close(): Promise<void> {
    for (const h of this.harnesses) await h.close()
  }
}

/** Options of a one-input group: the key selector is required to route. */
export type KeyedHarnessGroupOptions<IN> = GroupOptions<OneInputHarnessOptions<IN>> & { keySelector: KeySelector<IN> }

/** The subtasks of a keyed one-input operator; see `HarnessGroup`. */
export class KeyedHarnessGroup<IN, OUT> extends HarnessGroup<OUT, OneInputOperatorTestHarness<IN, OUT>> {
  private readonly keySelector: KeySelector<IN>

  private constructor(harnesses: OneInputOperatorTestHarness<IN, OUT>[], options: KeyedHarnessGroupOptions<IN>) {
    super(harnesses, options.maxParallelism ?? DEFAULT_MAX_PARALLELISM)
    this.keySelector = options.keySelector
  }

  /** Opened harnesses for every subtask, restored from `states` (the old subtasks' snapshots) if given. */
  static open<IN, OUT>(
    factory: () => OneInputStreamOperator<IN, OUT>,
    options: KeyedHarnessGroupOptions<IN>,
    states?: readonly OperatorSubtaskState[],
  ): KeyedHarnessGroup<IN, OUT> {
    const harnesses = Array.from({ length: options.parallelism }, (_, subtaskIndex) =>
      open(new OneInputOperatorTestHarness(factory, { ...options, subtaskIndex }), states),
    )
    return new KeyedHarnessGroup(harnesses, options)
  }

  processElement(value: IN, timestamp: number = NO_TIMESTAMP): void {
    this.harnessForKey(this.keySelector(value)).processElement(value, timestamp)
  }

  processElements(values: Iterable<IN>, timestamp: number = NO_TIMESTAMP): void {
    for (const value of values) this.processElement(value, timestamp)
  }

  /** Watermarks go to every subtask, as they are broadcast on a keyed edge. */
  processWatermark(watermark: number): void {
    for (const h of this.harnesses) h.processWatermark(watermark)
  }
}

/** Options of a two-input group: input 1 is keyed; input 2 is keyed too or broadcast. */
export type KeyedTwoInputHarnessGroupOptions<IN1, IN2> = GroupOptions<TwoInputHarnessOptions<IN1, IN2>> & { keySelector: KeySelector<IN1> }

/**
 * The subtasks of a keyed two-input operator. Input 2 is routed by `keySelector2` when given
 * (connected keyed streams), else sent to every subtask (the broadcast side of a broadcast connect).
 */
export class KeyedTwoInputHarnessGroup<IN1, IN2, OUT> extends HarnessGroup<OUT, TwoInputOperatorTestHarness<IN1, IN2, OUT>> {
  private readonly keySelector: KeySelector<IN1>
  private readonly keySelector2: KeySelector<IN2> | undefined

  private constructor(harnesses: TwoInputOperatorTestHarness<IN1, IN2, OUT>[], options: KeyedTwoInputHarnessGroupOptions<IN1, IN2>) {
    super(harnesses, options.maxParallelism ?? DEFAULT_MAX_PARALLELISM)
    this.keySelector = options.keySelector
    this.keySelector2 = options.keySelector2
  }

  /** Opened harnesses for every subtask, restored from `states` if given. */
  static open<IN1, IN2, OUT>(
    factory: () => TwoInputStreamOperator<IN1, IN2, OUT>,
    options: KeyedTwoInputHarnessGroupOptions<IN1, IN2>,
    states?: readonly OperatorSubtaskState[],
  ): KeyedTwoInputHarnessGroup<IN1, IN2, OUT> {
    const harnesses = Array.from({ length: options.parallelism }, (_, subtaskIndex) =>
      open(new TwoInputOperatorTestHarness(factory, { ...options, subtaskIndex }), states),
    )
    return new KeyedTwoInputHarnessGroup(harnesses, options)
  }

  processElement1(value: IN1, timestamp: number = NO_TIMESTAMP): void {
    this.harnessForKey(this.keySelector(value)).processElement1(value, timestamp)
  }

  processElement2(value: IN2, timestamp: number = NO_TIMESTAMP): void {
    if (this.keySelector2) this.harnessForKey(this.keySelector2(value)).processElement2(value, timestamp)
    else for (const h of this.harnesses) h.processElement2(value, timestamp)
  }

  processWatermark1(watermark: number): void {
    for (const h of this.harnesses) h.processWatermark1(watermark)
  }

  processWatermark2(watermark: number): void {
    for (const h of this.harnesses) h.processWatermark2(watermark)
  }

  processBothWatermarks(watermark: number): void {
    for (const h of this.harnesses) h.processBothWatermarks(watermark)
  }
}
