import { JobGraphError } from '../errors.ts'
import type { OperatorSettings, OperatorTransformation, Transformation } from '../graph/transformation.ts'
import { cloneFunction } from '../operators/abstract-stream-operator.ts'
import { FilterOperator, FlatMapOperator, MapOperator } from '../operators/basic-operators.ts'
import { ProcessOperator } from '../operators/process-operators.ts'
import { SinkWriterOperator } from '../operators/sink/sink-writer-operator.ts'
import type { KeySelector, OperatorFactory } from '../operators/stream-operator.ts'
import type { MapStateDescriptor } from '../state/descriptors.ts'
import { TimestampsAndWatermarksOperator } from '../operators/timestamps-and-watermarks-operator.ts'
import type { WatermarkStrategy } from '../time/watermark-strategy.ts'
import { CoGroupedStreams, JoinedStreams } from './joined-streams.ts'
import type { Sink } from './connector/sink.ts'
import type { FilterFunction, FlatMapFunction, MapFunction, ProcessFunction } from './functions.ts'
import type { OutputTag } from './output-tag.ts'
import type { StreamEnvironment } from './stream-environment.ts'
import { BroadcastStream } from './broadcast-stream.ts'
import { ConnectedStreams } from './connected-streams.ts'
import type { KeyedStream } from './keyed-stream.ts'

/**
 * Constructors of subclasses, registered by their modules: `KeyedStream` extends `DataStream`, so
 * `data-stream.ts` must not import it at load time.
 */
export const streamSubclasses: {
  keyed?: <T, K>(env: StreamEnvironment, input: Transformation, keySelector: KeySelector<T, K>) => KeyedStream<T, K>
} = {}

/** A stream of records of type T; every method returns a new stream and leaves this one as it is. */
export class DataStream<T> {
  /** Phantom field that carries the element type. */
  declare readonly __type?: T

  constructor(
    readonly env: StreamEnvironment,
    readonly transformation: Transformation,
  ) {}

  /** The operator settings of this stream's producer; throws for streams no operator produces. */
  protected settings(what: string): OperatorSettings {
    const t = this.transformation
    if (t.kind === 'source' || t.kind === 'one-input' || t.kind === 'two-input') return t.settings
    throw new JobGraphError(`${what} applies to an operator, but this stream is a ${t.kind} (set it on the operator before keyBy/union/rebalance)`)
  }

  /** Sets how many subtasks run the operator that produced this stream. */
  setParallelism(parallelism: number): this {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new JobGraphError(`Parallelism must be a positive integer, got ${parallelism}`)
    this.settings('setParallelism').parallelism = parallelism
    return this
  }

  /** Sets the number of key groups of the operator (only matters for keyed state). */
  setMaxParallelism(maxParallelism: number): this {
    this.settings('setMaxParallelism').maxParallelism = maxParallelism
    return this
  }

  /** A stable id for the operator: state in savepoints is matched to operators by uid. */
  uid(uid: string): this {
    if (typeof uid !== 'string' || uid.length === 0) throw new JobGraphError('A uid must be a non-empty string')
    this.settings('uid').uid = uid
    return this
  }

  /** The operator's name in logs, errors and the dashboard. */
  name(name: string): this {
    this.settings('name').name = name
    return this
  }

  /** Keeps the operator out of chains: it runs in a task of its own. */
  disableChaining(): this {
    this.settings('disableChaining').chainable = false
    return this
  }

  /** Adds an operator reading this stream. */
  protected addOneInput<R>(name: string, factory: OperatorFactory<unknown>, keySelector?: KeySelector<unknown>): DataStream<R> {
    const t: OperatorTransformation = {
      kind: 'one-input',
      id: this.env.nextTransformationId(),
      settings: this.env.defaultSettings(name),
      input: this.transformation,
      factory,
      keySelector,
    }
    this.env.addOperator(t)
    return new DataStream<R>(this.env, t)
  }

  map<R>(fn: MapFunction<T, R>, name = 'Map'): DataStream<R> {
    return this.addOneInput<R>(name, () => new MapOperator(cloneFunction(fn)))
  }

  filter(fn: FilterFunction<T>, name = 'Filter'): DataStream<T> {
    return this.addOneInput<T>(name, () => new FilterOperator(cloneFunction(fn)))
  }

  flatMap<R>(fn: FlatMapFunction<T, R>, name = 'FlatMap'): DataStream<R> {
    return this.addOneInput<R>(name, () => new FlatMapOperator(cloneFunction(fn)))
  }

  /** Runs a process function on each record (side outputs, clocks). */
  process<R>(fn: ProcessFunction<T, R>, name = 'Process'): DataStream<R> {
    return this.addOneInput<R>(name, () => new ProcessOperator(cloneFunction(fn)))
  }

  /** Merges this stream with others of the same type. */
  union(...others: DataStream<T>[]): DataStream<T> {
    for (const o of others) if (o.env !== this.env) throw new JobGraphError('union() needs streams of the same environment')
    return new DataStream<T>(this.env, { kind: 'union', id: this.env.nextTransformationId(), inputs: [this.transformation, ...others.map((o) => o.transformation)] })
  }

  /** Partitions by key: records with equal keys go to the same subtask, and keyed state becomes available. */
  keyBy<K>(keySelector: KeySelector<T, K>): KeyedStream<T, K> {
    if (typeof keySelector !== 'function') throw new JobGraphError('keyBy() needs a function that returns the key of a record')
    return streamSubclasses.keyed!<T, K>(this.env, this.transformation, keySelector)
  }

  /** Spreads records round robin over the next operator's subtasks. */
  rebalance(): DataStream<T> {
    return new DataStream<T>(this.env, { kind: 'partition', id: this.env.nextTransformationId(), input: this.transformation, partitioning: { kind: 'rebalance' } })
  }

  /** Sends each record to the subtask of the same index (needs equal parallelism). */
  forward(): DataStream<T> {
    return new DataStream<T>(this.env, { kind: 'partition', id: this.env.nextTransformationId(), input: this.transformation, partitioning: { kind: 'forward' } })
  }

  /**
   * Without descriptors: sends every record to every subtask of the next operator. With descriptors:
   * a broadcast stream to `connect` to another stream, whose function keeps these broadcast states.
   */
  broadcast(): DataStream<T>
  broadcast(...descriptors: MapStateDescriptor<unknown, unknown>[]): BroadcastStream<T>
  broadcast(...descriptors: MapStateDescriptor<unknown, unknown>[]): DataStream<T> | BroadcastStream<T> {
    const t: Transformation = { kind: 'partition', id: this.env.nextTransformationId(), input: this.transformation, partitioning: { kind: 'broadcast' } }
    if (descriptors.length === 0) return new DataStream<T>(this.env, t)
    return new BroadcastStream<T>(this.env, t, descriptors)
  }

  /** Connects two streams for a two-input function (`CoProcessFunction`). */
  connect<T2>(other: DataStream<T2>): ConnectedStreams<T, T2>
  /** Connects to a broadcast stream (`BroadcastProcessFunction`). */
  connect<B>(other: BroadcastStream<B>): import('./connected-streams.ts').BroadcastConnectedStream<T, B>
  connect<T2>(other: DataStream<T2> | BroadcastStream<T2>): ConnectedStreams<T, T2> | import('./connected-streams.ts').BroadcastConnectedStream<T, T2> {
    if (other instanceof BroadcastStream) return other.connectTo(this, undefined)
    return new ConnectedStreams<T, T2>(this.env, this.transformation, other.transformation, undefined, undefined)
  }

  /** The records a process function sent to `tag`. */
  getSideOutput<S>(tag: OutputTag<S>): DataStream<S> {
    return new DataStream<S>(this.env, { kind: 'side-output', id: this.env.nextTransformationId(), input: this.transformation, tagId: tag.id })
  }

  /**
   * Adds an operator built by `factory` (one instance per subtask). On a keyed stream the operator
   * gets keyed state and timers.
   */
  transform<R>(name: string, factory: OperatorFactory<R>): DataStream<R> {
    return this.addOneInput<R>(name, factory as OperatorFactory<unknown>)
  }

  /**
   * Gives records new timestamps and generates watermarks from them here, in the middle of the
   * stream. Prefer setting the strategy on the source, where watermarks are tracked per split.
   */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>, name = 'Timestamps/Watermarks'): DataStream<T> {
    return this.addOneInput<T>(name, () => new TimestampsAndWatermarksOperator(strategy))
  }

  /** Joins with another stream by key within windows: `a.join(b).where(k1).equalTo(k2).window(assigner).apply(fn)`. */
  join<T2>(other: DataStream<T2>): JoinedStreams<T, T2> {
    return new JoinedStreams(this, other)
  }

  /** Groups this and another stream by key within windows: `a.coGroup(b).where(k1).equalTo(k2).window(assigner).apply(fn)`. */
  coGroup<T2>(other: DataStream<T2>): CoGroupedStreams<T, T2> {
    return new CoGroupedStreams(this, other)
  }

  /** Writes the stream to a sink. */
  sinkTo(sink: Sink<T, unknown>, name = 'Sink'): DataStream<never> {
    return this.addOneInput<never>(name, () => new SinkWriterOperator(sink))
  }
}
