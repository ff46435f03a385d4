import type { Transformation } from '../graph/transformation.ts'
import { cloneFunction } from '../operators/abstract-stream-operator.ts'
import { KeyedReduceOperator } from '../operators/basic-operators.ts'
import { KeyedProcessOperator } from '../operators/process-operators.ts'
import type { KeySelector, OperatorFactory } from '../operators/stream-operator.ts'
import type { BroadcastConnectedStream } from './connected-streams.ts'
import { ConnectedStreams } from './connected-streams.ts'
import { DataStream, streamSubclasses } from './data-stream.ts'
import type { BroadcastStream } from './broadcast-stream.ts'
import type { KeyedProcessFunction, ReduceFunction } from './functions.ts'
import type { StreamEnvironment } from './stream-environment.ts'
import { WindowedStream } from './windowed-stream.ts'
import { IntervalJoin } from './interval-join.ts'
import type { WindowAssigner } from '../time/windows/window-assigner.ts'
import type { Window } from '../time/windows/window.ts'
import { GlobalWindows } from '../time/windows/global-windows.ts'
import type { GlobalWindow } from '../time/windows/global-window.ts'
import { PurgingTrigger } from '../time/windows/triggers/purging-trigger.ts'
import { CountTrigger } from '../time/windows/triggers/count-trigger.ts'
import { CountEvictor } from '../time/windows/evictors/count-evictor.ts'
import { JobGraphError } from '../errors.ts'

type NumericField<T> = { [F in keyof T]: T[F] extends number ? F : never }[keyof T] | (T extends readonly unknown[] ? number : never)

function aggregateBy<T>(field: PropertyKey | undefined, pick: (a: number, b: number) => number, name: string): (a: T, b: T) => T {
  if (field === undefined) return (a, b) => pick(a as number, b as number) as T
  return (a, b) => {
    const left = (a as Record<PropertyKey, unknown>)[field]
    const right = (b as Record<PropertyKey, unknown>)[field]
    if (typeof left !== 'number' || typeof right !== 'number') {
      throw new TypeError(`${name}(${String(field)}): the field is not a number in ${JSON.stringify(typeof left !== 'number' ? a : b)}`)
    }
    const copy = (Array.isArray(a) ? [...a] : { ...a }) as Record<PropertyKey, unknown>
    copy[field] = pick(left, right)
    return copy as T
  }
}

/**
 * A stream partitioned by key. Operators on it have keyed state and timers; `reduce`, `sum`, `min`
 * and `max` keep a rolling aggregate per key and emit it after each record.
 */
export class KeyedStream<T, K> extends DataStream<T> {
  constructor(
    env: StreamEnvironment,
    input: Transformation,
    readonly keySelector: KeySelector<T, K>,
  ) {
    super(env, {
      kind: 'partition',
      id: env.nextTransformationId(),
      input,
      partitioning: { kind: 'hash', keySelector: keySelector as KeySelector<unknown>, operatorName: 'keyBy' },
    })
  }

  protected override addOneInput<R>(name: string, factory: OperatorFactory<unknown>): DataStream<R> {
    const stream = super.addOneInput<R>(name, factory, this.keySelector as KeySelector<unknown>)
    // Key errors should name the keyed operator that the records are partitioned for.
    if (this.transformation.kind === 'partition' && this.transformation.partitioning.kind === 'hash') this.transformation.partitioning.operatorName = name
    return stream
  }

  /** Runs a keyed process function: keyed state, timers, side outputs. */
  override process<R>(fn: KeyedProcessFunction<K, T, R>, name = 'KeyedProcess'): DataStream<R> {
    return this.addOneInput<R>(name, () => new KeyedProcessOperator(cloneFunction(fn)))
  }

  /** Rolling reduce per key. */
  reduce(fn: ReduceFunction<T>, name = 'Reduce'): DataStream<T> {
    return this.addOneInput<T>(name, () => new KeyedReduceOperator(cloneFunction(fn)))
  }

  /** Rolling sum per key: of the records (numbers) or of one numeric field (other fields from the first record). */
  sum(field?: NumericField<T>): DataStream<T> {
    return this.reduce(aggregateBy<T>(field, (a, b) => a + b, 'sum'), 'Sum')
  }

  /** Rolling minimum per key, of the records or of one numeric field. */
  min(field?: NumericField<T>): DataStream<T> {
    return this.reduce(aggregateBy<T>(field, Math.min, 'min'), 'Min')
  }

  /** Rolling maximum per key, of the records or of one numeric field. */
  max(field?: NumericField<T>): DataStream<T> {
    return this.reduce(aggregateBy<T>(field, Math.max, 'max'), 'Max')
  }

  /** Cuts the stream into windows per key; finish with `reduce`, `aggregate` or `process`. */
  window<W extends Window>(assigner: WindowAssigner<T, W>): WindowedStream<T, K, W> {
    return new WindowedStream<T, K, W>(this, assigner)
  }

  /**
   * Windows of `size` elements per key. Without `slide` they tumble (fire and purge every `size`
   * elements); with it, every `slide` elements the last `size` elements are evaluated.
   */
  countWindow(size: number, slide?: number): WindowedStream<T, K, GlobalWindow> {
    if (!Number.isInteger(size) || size < 1) throw new JobGraphError(`countWindow() needs a positive integer size, got ${size}`)
    const windowed = this.window<GlobalWindow>(GlobalWindows.create())
    if (slide === undefined) return windowed.trigger(PurgingTrigger.of(CountTrigger.of<GlobalWindow>(size)))
    if (!Number.isInteger(slide) || slide < 1) throw new JobGraphError(`countWindow() needs a positive integer slide, got ${slide}`)
    return windowed.evictor(CountEvictor.of<GlobalWindow>(size)).trigger(CountTrigger.of<GlobalWindow>(slide))
  }

  /** Joins with another keyed stream on time intervals: `a.intervalJoin(b).between(lower, upper).process(fn)`. */
  intervalJoin<T2>(other: KeyedStream<T2, K>): IntervalJoin<T, T2, K> {
    return new IntervalJoin<T, T2, K>(this, other)
  }

  /** Connects two keyed streams (`KeyedCoProcessFunction`), or a broadcast stream (`KeyedBroadcastProcessFunction`). */
  override connect<T2>(other: DataStream<T2>): ConnectedStreams<T, T2>
  override connect<B>(other: BroadcastStream<B>): BroadcastConnectedStream<T, B>
  override connect<T2>(other: DataStream<T2> | BroadcastStream<T2>): ConnectedStreams<T, T2> | BroadcastConnectedStream<T, T2> {
    if (!(other instanceof DataStream)) return other.connectTo(this, this.keySelector as KeySelector<unknown>)
    const otherKey = other instanceof KeyedStream ? (other.keySelector as KeySelector<unknown>) : undefined
    return new ConnectedStreams<T, T2>(this.env, this.transformation, other.transformation, this.keySelector as KeySelector<unknown>, otherKey)
  }
}

streamSubclasses.keyed = <T, K>(env: StreamEnvironment, input: Transformation, keySelector: KeySelector<T, K>) => new KeyedStream<T, K>(env, input, keySelector)
