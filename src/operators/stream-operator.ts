import type { KeyedStateBackend } from '../state/keyed-state-backend.ts'
import type { OperatorStateBackend } from '../state/operator-state-backend.ts'
import type { ProcessingTimeService } from '../time/processing-time-service.ts'
import type { InternalTimeServiceManager } from '../time/timer-service.ts'
import type { Output } from './output.ts'

/** Extracts the key of a record; must return a canonical key (see `serializeKey`). */
export type KeySelector<T, K = unknown> = (value: T) => K

/** What the runtime gives an operator: who it is, its state backends and its clock. */
export interface OperatorContext {
  readonly jobId: string
  readonly operatorName: string
  readonly uid: string
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly maxParallelism: number
  /** Present for operators on keyed streams. */
  readonly keyedBackend: KeyedStateBackend | undefined
  readonly operatorBackend: OperatorStateBackend
  readonly processingTime: ProcessingTimeService
  /** Key selector of the (first) keyed input. */
  readonly keySelector: KeySelector<unknown> | undefined
  /** Key selector of the second input of a two-input keyed operator. */
  readonly keySelector2: KeySelector<unknown> | undefined
  /** Timers of a keyed operator; undefined on non-keyed streams. */
  readonly timeServiceManager: InternalTimeServiceManager | undefined
  /** True when the state backends were restored from a checkpoint or savepoint. */
  readonly isRestored: boolean
  /** 0 for the first run of the job, then one more per restart. */
  readonly attemptNumber: number
  /** Unique per run of the job, the same in every subtask. */
  readonly attemptId: string
  /** Whether the job takes checkpoints (sinks then commit on checkpoint completion). */
  readonly checkpointingEnabled: boolean
}

/**
 * The runtime side of an operator. The life cycle is: setup, initializeState (state backends are
 * already restored), open, then elements and watermarks, then finish at end of input, then close.
 */
export interface StreamOperator<OUT> {
  setup(context: OperatorContext, output: Output<OUT>): void
  /** Binds state after the backends were restored (or created empty). */
  initializeState(): void
  open(): void | Promise<void>
  /** Called before the state backends are snapshotted, to move in-flight data into state. */
  snapshotState(checkpointId: number): void | Promise<void>
  notifyCheckpointComplete(checkpointId: number): void | Promise<void>
  notifyCheckpointAborted(checkpointId: number): void
  /** Finish and close may wait for I/O (a sink flushing). */
  finish(): void | Promise<void>
  close(): void | Promise<void>
}

/** An operator with one input. */
export interface OneInputStreamOperator<IN, OUT> extends StreamOperator<OUT> {
  processElement(value: IN, timestamp: number): void
  processWatermark(watermark: number): void
}

/** An operator with two inputs (connect, joins, broadcast). */
export interface TwoInputStreamOperator<IN1, IN2, OUT> extends StreamOperator<OUT> {
  processElement1(value: IN1, timestamp: number): void
  processElement2(value: IN2, timestamp: number): void
  processWatermark1(watermark: number): void
  processWatermark2(watermark: number): void
  /** One input ended while the other goes on. */
  endInput(input: 1 | 2): void
  /** An input became idle (its watermark must not hold the other back) or active again. */
  processWatermarkStatus?(input: 1 | 2, idle: boolean): void
}

/** Creates one operator instance per subtask. */
export type OperatorFactory<OUT> = () => StreamOperator<OUT>
