import type { Transformation, TwoInputTransformation } from '../graph/transformation.ts'
import { cloneFunction } from '../operators/abstract-stream-operator.ts'
import { BroadcastProcessOperator, KeyedBroadcastProcessOperator } from '../operators/broadcast-operators.ts'
import { CoProcessOperator, KeyedCoProcessOperator } from '../operators/co-process-operators.ts'
import type { KeySelector, OperatorFactory } from '../operators/stream-operator.ts'
import type { MapStateDescriptor } from '../state/descriptors.ts'
import type { BroadcastProcessFunction, KeyedBroadcastProcessFunction } from './broadcast-functions.ts'
import { DataStream } from './data-stream.ts'
import type { CoProcessFunction, KeyedCoProcessFunction } from './functions.ts'
import type { StreamEnvironment } from './stream-environment.ts'
import { JobGraphError } from '../errors.ts'

function addTwoInput<R>(
  env: StreamEnvironment,
  name: string,
  input1: Transformation,
  input2: Transformation,
  factory: OperatorFactory<unknown>,
  key1: KeySelector<unknown> | undefined,
  key2: KeySelector<unknown> | undefined,
): DataStream<R> {
  const t: TwoInputTransformation = {
    kind: 'two-input',
    id: env.nextTransformationId(),
    settings: env.defaultSettings(name),
    input1,
    input2,
    factory,
    keySelector1: key1,
    keySelector2: key2,
  }
  env.addOperator(t)
  return new DataStream<R>(env, t)
}

/** Two streams connected for one two-input function; keyed when both sides are keyed. */
export class ConnectedStreams<IN1, IN2> {
  constructor(
    readonly env: StreamEnvironment,
    readonly input1: Transformation,
    readonly input2: Transformation,
    readonly keySelector1: KeySelector<unknown> | undefined,
    readonly keySelector2: KeySelector<unknown> | undefined,
  ) {}

  /** Runs a `CoProcessFunction` (non-keyed) or a `KeyedCoProcessFunction` (both sides keyed). */
  process<R>(fn: CoProcessFunction<IN1, IN2, R> | KeyedCoProcessFunction<unknown, IN1, IN2, R>, name = 'CoProcess'): DataStream<R> {
    const keyed = this.keySelector1 !== undefined && this.keySelector2 !== undefined
    if ((this.keySelector1 === undefined) !== (this.keySelector2 === undefined)) {
      throw new JobGraphError(`'${name}': connect() of a keyed and a non-keyed stream; key both (keyBy) or neither`)
    }
    const factory = keyed
      ? () => new KeyedCoProcessOperator(cloneFunction(fn as KeyedCoProcessFunction<unknown, IN1, IN2, R>))
      : () => new CoProcessOperator(cloneFunction(fn as CoProcessFunction<IN1, IN2, R>))
    return addTwoInput<R>(this.env, name, this.input1, this.input2, factory, this.keySelector1, this.keySelector2)
  }

  /** Adds a two-input operator built by `factory` (one instance per subtask); keyed when both sides are. */
  transform<R>(name: string, factory: OperatorFactory<R>): DataStream<R> {
    if ((this.keySelector1 === undefined) !== (this.keySelector2 === undefined)) {
      throw new JobGraphError(`'${name}': connect() of a keyed and a non-keyed stream; key both (keyBy) or neither`)
    }
    return addTwoInput<R>(this.env, name, this.input1, this.input2, factory as OperatorFactory<unknown>, this.keySelector1, this.keySelector2)
  }
}

/** A (keyed or non-keyed) stream connected to a broadcast stream. */
export class BroadcastConnectedStream<IN, BC> {
  constructor(
    readonly env: StreamEnvironment,
    readonly input: Transformation,
    readonly broadcastInput: Transformation,
    readonly keySelector: KeySelector<unknown> | undefined,
    readonly descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {}

  /** Runs a `KeyedBroadcastProcessFunction` (keyed input) or a `BroadcastProcessFunction`. */
  process<R>(fn: KeyedBroadcastProcessFunction<unknown, IN, BC, R> | BroadcastProcessFunction<IN, BC, R>, name = 'BroadcastProcess'): DataStream<R> {
    const descriptors = this.descriptors
    const factory = this.keySelector
      ? () => new KeyedBroadcastProcessOperator(cloneFunction(fn as KeyedBroadcastProcessFunction<unknown, IN, BC, R>), descriptors)
      : () => new BroadcastProcessOperator(cloneFunction(fn as BroadcastProcessFunction<IN, BC, R>), descriptors)
    return addTwoInput<R>(this.env, name, this.input, this.broadcastInput, factory, this.keySelector, undefined)
  }
}
