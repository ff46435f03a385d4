import type { OutputTag } from '../api/output-tag.ts'
import { UserFunctionError, WeirError, previewRecord } from '../errors.ts'
import type { Output } from '../operators/output.ts'
import type { OneInputStreamOperator } from '../operators/stream-operator.ts'
import type { RecordWriter } from './io/record-writer.ts'
import type { OperatorMetrics } from './operator-metrics.ts'

/** Wraps what user code threw with the operator, subtask and record; engine errors pass as they are. */
export function wrapUserError(error: unknown, operator: string, subtask: number, record: unknown, hasRecord = true): Error {
  if (error instanceof WeirError) return error
  return new UserFunctionError(operator, subtask, hasRecord ? previewRecord(record) : undefined, error)
}

/** Hands records to the next operator of the chain by a direct call. */
export class ChainingOutput implements Output<unknown> {
  constructor(
    private readonly operator: OneInputStreamOperator<unknown, unknown>,
    private readonly operatorName: string,
    private readonly subtask: number,
    private readonly metrics: OperatorMetrics,
  ) {}

  collect(value: unknown, timestamp: number): void {
    this.metrics.recordsIn++
    try {
      this.operator.processElement(value, timestamp)
    } catch (error) {
      throw wrapUserError(error, this.operatorName, this.subtask, value)
    }
  }

  collectSide(): void {
    // Side outputs are routed by the producing operator's output, never through a chained operator.
  }

  emitWatermark(watermark: number): void {
    this.metrics.currentInputWatermark = watermark
    try {
      this.operator.processWatermark(watermark)
    } catch (error) {
      throw wrapUserError(error, this.operatorName, this.subtask, undefined, false)
    }
  }
}

/** Sends records to another task through a record writer. */
export class WriterOutput implements Output<unknown> {
  constructor(private readonly writer: RecordWriter) {}
  collect(value: unknown, timestamp: number): void {
    this.writer.emit(value, timestamp)
  }
  collectSide(): void {}
  emitWatermark(watermark: number): void {
    this.writer.emitWatermark(watermark)
  }
}

/** The output of one operator: its main consumers and its side outputs by tag. */
export class OperatorOutput implements Output<unknown> {
  private readonly single: Output<unknown> | undefined

  constructor(
    private readonly main: Output<unknown>[],
    private readonly side: Map<string, Output<unknown>[]>,
    private readonly metrics: OperatorMetrics,
  ) {
    this.single = main.length === 1 ? main[0] : undefined
  }

  collect(value: unknown, timestamp: number): void {
    this.metrics.recordsOut++
    if (this.single) this.single.collect(value, timestamp)
    else for (const o of this.main) o.collect(value, timestamp)
  }

  collectSide<S>(tag: OutputTag<S>, value: S, timestamp: number): void {
    const outputs = this.side.get(tag.id)
    if (outputs) for (const o of outputs) o.collect(value, timestamp)
  }

  emitWatermark(watermark: number): void {
    this.metrics.currentOutputWatermark = watermark
    for (const o of this.main) o.emitWatermark(watermark)
    for (const outputs of this.side.values()) for (const o of outputs) o.emitWatermark(watermark)
  }
}
