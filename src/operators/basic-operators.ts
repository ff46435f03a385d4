import type { FilterFunction, FlatMapFunction, MapFunction, ReduceFunction } from '../api/functions.ts'
import { ValueStateDescriptor } from '../state/descriptors.ts'
import type { ValueState } from '../state/state.ts'
import { AbstractUdfOperator } from './abstract-stream-operator.ts'
import type { Collector } from './output.ts'
import type { OneInputStreamOperator } from './stream-operator.ts'

function callable<F extends (...args: never[]) => unknown>(fn: unknown, method: string): F {
  if (typeof fn === 'function') return fn as F
  const m = (fn as Record<string, unknown>)[method]
  if (typeof m !== 'function') throw new TypeError(`Expected a function or an object with a '${method}' method`)
  return m.bind(fn) as F
}

/** Applies a map function to each record. */
export class MapOperator<IN, OUT> extends AbstractUdfOperator<OUT, MapFunction<IN, OUT>> implements OneInputStreamOperator<IN, OUT> {
  private readonly fn: (value: IN) => OUT
  constructor(fn: MapFunction<IN, OUT>) {
    super(fn)
    this.fn = callable(fn, 'map')
  }
  processElement(value: IN, timestamp: number): void {
    this.output.collect(this.fn(value), timestamp)
  }
}

/** Keeps records the predicate accepts. */
export class FilterOperator<T> extends AbstractUdfOperator<T, FilterFunction<T>> implements OneInputStreamOperator<T, T> {
  private readonly fn: (value: T) => boolean
  constructor(fn: FilterFunction<T>) {
    super(fn)
    this.fn = callable(fn, 'filter')
  }
  processElement(value: T, timestamp: number): void {
    if (this.fn(value)) this.output.collect(value, timestamp)
  }
}

/** A collector that stamps what it collects with the timestamp of the input record. */
export class TimestampedCollector<T> implements Collector<T> {
  timestamp = 0
  constructor(private readonly emit: (value: T, timestamp: number) => void) {}
  collect(value: T): void {
    this.emit(value, this.timestamp)
  }
}

/** Turns each record into zero or more. */
export class FlatMapOperator<IN, OUT> extends AbstractUdfOperator<OUT, FlatMapFunction<IN, OUT>> implements OneInputStreamOperator<IN, OUT> {
  private readonly fn: (value: IN, out: Collector<OUT>) => void
  private collector!: TimestampedCollector<OUT>
  constructor(fn: FlatMapFunction<IN, OUT>) {
    super(fn)
    this.fn = callable(fn, 'flatMap')
  }
  override open(): void {
    this.collector = new TimestampedCollector<OUT>((v, ts) => this.output.collect(v, ts))
    super.open()
  }
  processElement(value: IN, timestamp: number): void {
    this.collector.timestamp = timestamp
    this.fn(value, this.collector)
  }
}

/** Rolling reduce on a keyed stream: emits the new reduced value of the key after every record. */
export class KeyedReduceOperator<T> extends AbstractUdfOperator<T, ReduceFunction<T>> implements OneInputStreamOperator<T, T> {
  private readonly fn: (a: T, b: T) => T
  private state!: ValueState<T>
  constructor(fn: ReduceFunction<T>) {
    super(fn)
    this.fn = callable(fn, 'reduce')
  }
  override open(): void {
    this.state = this.ctx.keyedBackend!.getValueState(new ValueStateDescriptor<T>('_reduce'))
    super.open()
  }
  processElement(value: T, timestamp: number): void {
    this.setKeyOf(value)
    const current = this.state.value()
    const next = current === undefined ? value : this.fn(current, value)
    this.state.update(next)
    this.output.collect(next, timestamp)
  }
}
