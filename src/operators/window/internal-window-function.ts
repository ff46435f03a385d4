import type { ReduceFunction, RichFunction } from '../../api/functions.ts'
import type { RuntimeContext } from '../../api/runtime-context.ts'
import type { ProcessWindowContext, ProcessWindowFunctionLike } from '../../api/window-functions.ts'
import type { AggregateFunction } from '../../state/state.ts'
import type { Window } from '../../time/windows/window.ts'
import type { Collector } from '../output.ts'

/**
 * What the window operator calls when a window fires: `contents` is whatever its window state holds
 * (all elements, a reduced value, an aggregate's result). Wraps the user's functions.
 */
export interface InternalWindowFunction<CONTENTS, OUT, K, W extends Window> extends RichFunction {
  process(key: K, context: ProcessWindowContext<W>, contents: CONTENTS, out: Collector<OUT>): void
  clear(context: ProcessWindowContext<W>): void
}

type ProcessFn<IN, OUT, K, W extends Window> = (key: K, context: ProcessWindowContext<W>, elements: IN[], out: Collector<OUT>) => void

/** Calls the life-cycle hooks of the user functions the wrapper holds. */
abstract class WrappingFunction implements RichFunction {
  constructor(private readonly wrapped: readonly unknown[]) {}

  open(context: RuntimeContext): void {
    for (const fn of this.wrapped) if (isRich(fn) && typeof fn.open === 'function') fn.open(context)
  }

  close(): void {
    for (const fn of this.wrapped) if (isRich(fn) && typeof fn.close === 'function') fn.close()
  }
}

function isRich(fn: unknown): fn is RichFunction {
  return typeof fn === 'object' && fn !== null
}

function processOf<IN, OUT, K, W extends Window>(fn: ProcessWindowFunctionLike<IN, OUT, K, W>): ProcessFn<IN, OUT, K, W> {
  if (typeof fn === 'function') return fn
  if (typeof fn !== 'object' || fn === null || typeof fn.process !== 'function') throw new TypeError('A window function must be a function or an object with a process() method')
  return fn.process.bind(fn)
}

function clearOf<IN, OUT, K, W extends Window>(fn: ProcessWindowFunctionLike<IN, OUT, K, W> | undefined): ((context: ProcessWindowContext<W>) => void) | undefined {
  if (fn === undefined || typeof fn === 'function' || typeof fn.clear !== 'function') return undefined
  return fn.clear.bind(fn)
}

/** Hands all elements of the window to a process window function. */
export class IterableWindowFunction<IN, OUT, K, W extends Window> extends WrappingFunction implements InternalWindowFunction<IN[], OUT, K, W> {
  private readonly processFn: ProcessFn<IN, OUT, K, W>
  private readonly clearFn: ((context: ProcessWindowContext<W>) => void) | undefined

  constructor(fn: ProcessWindowFunctionLike<IN, OUT, K, W>) {
    super([fn])
    this.processFn = processOf(fn)
    this.clearFn = clearOf(fn)
  }

  process(key: K, context: ProcessWindowContext<W>, contents: IN[], out: Collector<OUT>): void {
    this.processFn(key, context, contents, out)
  }

  clear(context: ProcessWindowContext<W>): void {
    this.clearFn?.(context)
  }
}

/**
 * For a pre-aggregated window: emits the value, or passes it (as a one-element list) to a process
 * window function.
 */
export class SingleValueWindowFunction<V, OUT, K, W extends Window> extends WrappingFunction implements InternalWindowFunction<V, OUT, K, W> {
  private readonly processFn: ProcessFn<V, OUT, K, W> | undefined
  private readonly clearFn: ((context: ProcessWindowContext<W>) => void) | undefined

  constructor(fn: ProcessWindowFunctionLike<V, OUT, K, W> | undefined) {
    super(fn === undefined ? [] : [fn])
    this.processFn = fn === undefined ? undefined : processOf(fn)
    this.clearFn = clearOf(fn)
  }

  process(key: K, context: ProcessWindowContext<W>, contents: V, out: Collector<OUT>): void {
    if (this.processFn === undefined) (out as unknown as Collector<V>).collect(contents)
    else this.processFn(key, context, [contents], out)
  }

  clear(context: ProcessWindowContext<W>): void {
    this.clearFn?.(context)
  }
}

/** Reduces all elements when the window fires (windows with evictors cannot reduce incrementally). */
export class ReduceApplyWindowFunction<T, OUT, K, W extends Window> extends WrappingFunction implements InternalWindowFunction<T[], OUT, K, W> {
  private readonly inner: SingleValueWindowFunction<T, OUT, K, W>

  constructor(
    private readonly reduce: (a: T, b: T) => T,
    fn: ProcessWindowFunctionLike<T, OUT, K, W> | undefined,
  ) {
    super(fn === undefined ? [] : [fn])
    this.inner = new SingleValueWindowFunction(fn)
  }

  process(key: K, context: ProcessWindowContext<W>, contents: T[], out: Collector<OUT>): void {
    if (contents.length === 0) return
    let acc = contents[0]
    for (let i = 1; i < contents.length; i++) acc = this.reduce(acc, contents[i])
    this.inner.process(key, context, acc, out)
  }

  clear(context: ProcessWindowContext<W>): void {
    this.inner.clear(context)
  }
}

/** Aggregates all elements when the window fires (windows with evictors). */
export class AggregateApplyWindowFunction<IN, ACC, R, OUT, K, W extends Window> extends WrappingFunction implements InternalWindowFunction<IN[], OUT, K, W> {
  private readonly inner: SingleValueWindowFunction<R, OUT, K, W>

  constructor(
    private readonly aggregate: AggregateFunction<IN, ACC, R>,
    fn: ProcessWindowFunctionLike<R, OUT, K, W> | undefined,
  ) {
    super(fn === undefined ? [] : [fn])
    this.inner = new SingleValueWindowFunction(fn)
  }

  process(key: K, context: ProcessWindowContext<W>, contents: IN[], out: Collector<OUT>): void {
    let acc = this.aggregate.createAccumulator()
    for (const value of contents) acc = this.aggregate.add(value, acc)
    this.inner.process(key, context, this.aggregate.getResult(acc), out)
  }

  clear(context: ProcessWindowContext<W>): void {
    this.inner.clear(context)
  }
}

/** The reduce of a `ReduceFunction` given as a function or as an object. */
export function reducerOf<T>(fn: ReduceFunction<T>): (a: T, b: T) => T {
  if (typeof fn === 'function') return fn
  if (typeof fn !== 'object' || fn === null || typeof fn.reduce !== 'function') throw new TypeError('A reduce function must be a function or an object with a reduce() method')
  return fn.reduce.bind(fn)
}
