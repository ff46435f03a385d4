import type { OperatorSubtaskState } from '../../src/checkpoint/operator-subtask-state.ts'
import type { KeySelector, OneInputStreamOperator } from '../../src/operators/stream-operator.ts'
import { NO_TIMESTAMP } from '../../src/time/time.ts'
import { AbstractOperatorTestHarness, type HarnessOptions } from './operator-test-harness.ts'

/** Options of a one-input harness; a key selector makes the operator keyed. */
export interface OneInputHarnessOptions<IN> extends HarnessOptions {
  keySelector?: KeySelector<IN>
}

/** Harness of a one-input operator (Flink's `(Keyed)OneInputStreamOperatorTestHarness`). */
export class OneInputOperatorTestHarness<IN, OUT> extends AbstractOperatorTestHarness<OUT, OneInputStreamOperator<IN, OUT>> {
  constructor(factory: () => OneInputStreamOperator<IN, OUT>, options: OneInputHarnessOptions<IN> = {}) {
    super(factory, options)
  }

  /**
   * A new, opened harness for subtask `options.subtaskIndex` of `options.parallelism`, restored from
   * the snapshots of every subtask of an earlier run at any parallelism.
   */
  static restore<IN, OUT>(
    factory: () => OneInputStreamOperator<IN, OUT>,
    states: readonly OperatorSubtaskState[],
    options: OneInputHarnessOptions<IN> = {},
  ): OneInputOperatorTestHarness<IN, OUT> {
    const harness = new OneInputOperatorTestHarness(factory, options)
    harness.initializeState(states)
    return harness.open()
  }

  /** Sends one record; without a timestamp it has none, as when no timestamp assigner ran. */
  processElement(value: IN, timestamp: number = NO_TIMESTAMP): void {
    this.checkOpen()
    this.operator.processElement(value, timestamp)
  }

  /** Sends records one after the other, all with the same timestamp (or none). */
  processElements(values: Iterable<IN>, timestamp: number = NO_TIMESTAMP): void {
    for (const value of values) this.processElement(value, timestamp)
  }

  processWatermark(watermark: number): void {
    this.checkOpen()
    this.operator.processWatermark(watermark)
  }
}
