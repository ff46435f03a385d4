import type { OperatorSubtaskState } from '../../src/checkpoint/operator-subtask-state.ts'
import type { KeySelector, TwoInputStreamOperator } from '../../src/operators/stream-operator.ts'
import { NO_TIMESTAMP } from '../../src/time/time.ts'
import { AbstractOperatorTestHarness, type HarnessOptions } from './operator-test-harness.ts'

/**
 * Options of a two-input harness. A key selector of either input makes the operator keyed; a keyed
 * broadcast operator has one for input 1 only.
 */
export interface TwoInputHarnessOptions<IN1, IN2> extends HarnessOptions {
  keySelector?: KeySelector<IN1>
  keySelector2?: KeySelector<IN2>
}

/** Harness of a two-input operator (Flink's `(Keyed)TwoInputStreamOperatorTestHarness`). */
export class TwoInputOperatorTestHarness<IN1, IN2, OUT> extends AbstractOperatorTestHarness<OUT, TwoInputStreamOperator<IN1, IN2, OUT>> {
  constructor(factory: () => TwoInputStreamOperator<IN1, IN2, OUT>, options: TwoInputHarnessOptions<IN1, IN2> = {}) {
    super(factory, options)
  }

  /** A new, opened harness restored from the snapshots of every subtask of an earlier run. */
  static restore<IN1, IN2, OUT>(
    factory: () => TwoInputStreamOperator<IN1, IN2, OUT>,
    states: readonly OperatorSubtaskState[],
    options: TwoInputHarnessOptions<IN1, IN2> = {},
  ): TwoInputOperatorTestHarness<IN1, IN2, OUT> {
    const harness = new TwoInputOperatorTestHarness(factory, options)
    harness.initializeState(states)
    return harness.open()
  }

  processElement1(value: IN1, timestamp: number = NO_TIMESTAMP): void {
    this.checkOpen()
    this.operator.processElement1(value, timestamp)
  }

  processElement2(value: IN2, timestamp: number = NO_TIMESTAMP): void {
    this.checkOpen()
    this.operator.processElement2(value, timestamp)
  }

  processWatermark1(watermark: number): void {
    this.checkOpen()
    this.operator.processWatermark1(watermark)
  }

  processWatermark2(watermark: number): void {
    this.checkOpen()
    this.operator.processWatermark2(watermark)
  }

  /** Sends the same watermark on both inputs. */
  processBothWatermarks(watermark: number): void {
    this.processWatermark1(watermark)
    this.processWatermark2(watermark)
  }

  /** Marks an input idle (its watermark no longer holds the other back) or active again. */
  processWatermarkStatus(input: 1 | 2, idle: boolean): void {
    this.checkOpen()
    if (!this.operator.processWatermarkStatus) throw new Error('The operator does not take watermark status')
    this.operator.processWatermarkStatus(input, idle)
  }

  /** One input ended while the other may go on. */
  endInput(input: 1 | 2): void {
    this.checkOpen()
    this.operator.endInput(input)
  }
}
