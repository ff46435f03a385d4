import type { RichFunction, CheckpointedFunction } from '../api/functions.ts'
import { MIN_WATERMARK } from '../time/time.ts'
import type { Output } from './output.ts'
import { initializationContextOf, runtimeContextOf } from './runtime-context-impl.ts'
import type { OperatorContext, StreamOperator } from './stream-operator.ts'

/** Base of the built-in operators: keeps the context and output, forwards watermarks. */
export abstract class AbstractStreamOperator<OUT> implements StreamOperator<OUT> {
  protected ctx!: OperatorContext
  protected output!: Output<OUT>
  protected currentWatermark = MIN_WATERMARK

  setup(context: OperatorContext, output: Output<OUT>): void {
    this.ctx = context
    this.output = output
  }
  initializeState(): void {}
  open(): void {}
  snapshotState(_checkpointId: number): void {}
  notifyCheckpointComplete(_checkpointId: number): void {}
  notifyCheckpointAborted(_checkpointId: number): void {}
  finish(): void | Promise<void> {}
  close(): void | Promise<void> {}

  processWatermark(watermark: number): void {
    this.currentWatermark = watermark
    // Timers first: what they emit carries timestamps up to the watermark, so it must go out before it.
    this.ctx.timeServiceManager?.advanceWatermark(watermark)
    this.output.emitWatermark(watermark)
  }

  /** Makes the record's key current in the keyed backend. */
  protected setKeyOf(value: unknown): void {
    this.ctx.keyedBackend!.setCurrentKey(this.ctx.keySelector!(value))
  }
}

function isCheckpointed(fn: unknown): fn is CheckpointedFunction {
  return typeof fn === 'object' && fn !== null && typeof (fn as CheckpointedFunction).initializeState === 'function' && typeof (fn as CheckpointedFunction).snapshotState === 'function'
}

/** An operator that runs a user function and calls its life-cycle hooks. */
export abstract class AbstractUdfOperator<OUT, F> extends AbstractStreamOperator<OUT> {
  constructor(protected readonly userFunction: F) {
    super()
  }

  override initializeState(): void {
    const fn = this.userFunction as unknown
    if (isCheckpointed(fn)) fn.initializeState(initializationContextOf(this.ctx))
  }

  override open(): void {
    const fn = this.userFunction as RichFunction
    if (typeof fn === 'object' && fn !== null && typeof fn.open === 'function') fn.open(runtimeContextOf(this.ctx))
  }

  override snapshotState(checkpointId: number): void {
    const fn = this.userFunction as unknown
    if (isCheckpointed(fn)) fn.snapshotState({ checkpointId })
  }

  override close(): void | Promise<void> {
    const fn = this.userFunction as RichFunction
    if (typeof fn === 'object' && fn !== null && typeof fn.close === 'function') fn.close()
  }
}

/**
 * A fresh copy of a user function object for one subtask: same class, own fields. Functions given
 * as arrow functions are shared (they hold no per-subtask state); objects and class instances are
 * copied so each subtask's `open` sets up its own state handles.
 */
export function cloneFunction<F>(fn: F): F {
  if (typeof fn !== 'object' || fn === null) return fn
  return Object.assign(Object.create(Object.getPrototypeOf(fn) as object) as object, fn) as F
}
