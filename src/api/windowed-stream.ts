import { JobGraphError } from '../errors.ts'
import { cloneFunction } from '../operators/abstract-stream-operator.ts'
import type { WindowOperatorConfig } from '../operators/window/abstract-window-operator.ts'
import { EvictingWindowOperator } from '../operators/window/evicting-window-operator.ts'
import {
  AggregateApplyWindowFunction,
  IterableWindowFunction,
  ReduceApplyWindowFunction,
  reducerOf,
  SingleValueWindowFunction,
} from '../operators/window/internal-window-function.ts'
import { WindowOperator } from '../operators/window/window-operator.ts'
import type { OperatorFactory } from '../operators/stream-operator.ts'
import { AggregatingStateDescriptor, ListStateDescriptor, ReducingStateDescriptor } from '../state/descriptors.ts'
import type { AggregateFunction } from '../state/state.ts'
import type { Evictor } from '../time/windows/evictors/evictor.ts'
import type { Trigger } from '../time/windows/triggers/trigger.ts'
import { isMergingAssigner, type WindowAssigner } from '../time/windows/window-assigner.ts'
import type { Window } from '../time/windows/window.ts'
import type { DataStream } from './data-stream.ts'
import type { ReduceFunction } from './functions.ts'
import type { KeyedStream } from './keyed-stream.ts'
import type { OutputTag } from './output-tag.ts'
import type { ProcessWindowFunctionLike } from './window-functions.ts'

const CONTENTS = 'window-contents'

/**
 * A keyed stream cut into windows. Set the trigger, evictor, allowed lateness and late-data output,
 * then end with `reduce`, `aggregate` or `process`, which add the window operator.
 */
export class WindowedStream<T, K, W extends Window> {
  private windowTrigger: Trigger<T, W>
  private windowEvictor: Evictor<T, W> | undefined
  private lateness = 0
  private lateDataTag: OutputTag<T> | undefined

  constructor(
    readonly input: KeyedStream<T, K>,
    readonly assigner: WindowAssigner<T, W>,
  ) {
    this.windowTrigger = assigner.getDefaultTrigger()
  }

  /** Replaces the assigner's default trigger. */
  trigger(trigger: Trigger<T, W>): this {
    if (isMergingAssigner(this.assigner) && !(trigger.canMerge?.() ?? false)) {
      throw new JobGraphError(`${String(this.assigner)} merges windows, but the trigger ${String(trigger)} cannot merge`)
    }
    this.windowTrigger = trigger
    return this
  }

  /** Removes elements from firing windows. Windows then keep every element instead of an accumulator. */
  evictor(evictor: Evictor<T, W>): this {
    this.windowEvictor = evictor
    return this
  }

  /**
   * Keeps windows for `ms` of event time after their end: elements arriving in that time are added
   * and fire the window again (with the default trigger). Ignored for processing-time windows.
   */
  allowedLateness(ms: number): this {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new JobGraphError(`allowedLateness() needs a number of milliseconds >= 0, got ${ms}`)
    this.lateness = ms
    return this
  }

  /** Sends elements that arrive after their windows' allowed lateness to `tag` instead of dropping them. */
  sideOutputLateData(tag: OutputTag<T>): this {
    this.lateDataTag = tag
    return this
  }

  /** Folds each window's elements into one with `fn`, incrementally; emits the result (or hands it to `windowFn`). */
  reduce(fn: ReduceFunction<T>): DataStream<T>
  reduce<R>(fn: ReduceFunction<T>, windowFn: ProcessWindowFunctionLike<T, R, K, W>): DataStream<R>
  reduce<R>(fn: ReduceFunction<T>, windowFn?: ProcessWindowFunctionLike<T, R, K, W>): DataStream<R> {
    const config = this.config()
    const evictor = this.windowEvictor
    const factory: OperatorFactory<R> = evictor
      ? () => new EvictingWindowOperator(evictor, new ReduceApplyWindowFunction(reducerOf(cloneFunction(fn)), optionalClone(windowFn)), config)
      : () => {
          const reduce = reducerOf(cloneFunction(fn))
          return new WindowOperator(new ReducingStateDescriptor<T>(CONTENTS, reduce), new SingleValueWindowFunction<T, R, K, W>(optionalClone(windowFn)), config)
        }
    return this.add('reduce', factory)
  }

  /** Aggregates each window's elements incrementally; emits the result (or hands it to `windowFn`). */
  aggregate<ACC, V>(fn: AggregateFunction<T, ACC, V>): DataStream<V>
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFn: ProcessWindowFunctionLike<V, R, K, W>): DataStream<R>
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFn?: ProcessWindowFunctionLike<V, R, K, W>): DataStream<R> {
    const config = this.config()
    const evictor = this.windowEvictor
    const factory: OperatorFactory<R> = evictor
      ? () => new EvictingWindowOperator(evictor, new AggregateApplyWindowFunction(cloneFunction(fn), optionalClone(windowFn)), config)
      : () =>
          new WindowOperator(
            new AggregatingStateDescriptor<T, ACC, V>(CONTENTS, cloneFunction(fn)) as AggregatingStateDescriptor<T, unknown, unknown>,
            new SingleValueWindowFunction<V, R, K, W>(optionalClone(windowFn)),
            config,
          )
    return this.add('aggregate', factory)
  }

  /** Hands all elements of each firing window to `fn`. */
  process<R>(fn: ProcessWindowFunctionLike<T, R, K, W>): DataStream<R> {
    const config = this.config()
    const evictor = this.windowEvictor
    const factory: OperatorFactory<R> = evictor
      ? () => new EvictingWindowOperator(evictor, new IterableWindowFunction(cloneFunction(fn)), config)
      : () => new WindowOperator(new ListStateDescriptor<T>(CONTENTS), new IterableWindowFunction(cloneFunction(fn)), config)
    return this.add('process', factory)
  }

  private config(): WindowOperatorConfig<T, W> {
    return { assigner: this.assigner, trigger: this.windowTrigger, allowedLateness: this.lateness, lateDataTag: this.lateDataTag }
  }

  private add<R>(what: string, factory: OperatorFactory<R>): DataStream<R> {
    const parts = [String(this.assigner), String(this.windowTrigger)]
    if (this.windowEvictor) parts.push(String(this.windowEvictor))
    return this.input.transform<R>(`Window(${parts.join(', ')}, ${what})`, factory)
  }
}

function optionalClone<F>(fn: F | undefined): F | undefined {
  return fn === undefined ? undefined : cloneFunction(fn)
}
