import type { TypeSerializer } from '../api/serialization/type-serializer.ts'
import type { AggregateFunction } from './state.ts'
import type { StateTtlConfig } from './ttl.ts'
import { StateError } from '../errors.ts'

/** The kinds of keyed and operator state. */
export type StateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating'

/** Names a state and says how to store it. The name is unique within one operator. */
export abstract class StateDescriptor<S = unknown> {
  abstract readonly kind: StateKind
  ttl: StateTtlConfig | undefined
  /** Phantom field so descriptors of different state types do not unify. */
  declare readonly __state?: S

  constructor(readonly name: string) {
    if (typeof name !== 'string' || name.length === 0) throw new StateError('A state descriptor needs a non-empty name')
  }

  /** Expire entries a fixed time after they were written (or read, as the config says). */
  enableTimeToLive(config: StateTtlConfig): this {
    if (!(config.ttlMs > 0)) throw new StateError(`State '${this.name}': TTL must be a positive number of milliseconds, got ${config.ttlMs}`)
    this.ttl = config
    return this
  }
}

/** Describes a `ValueState`. */
export class ValueStateDescriptor<T> extends StateDescriptor<'value'> {
  readonly kind = 'value' as const
  constructor(name: string, readonly serializer?: TypeSerializer<T>, readonly defaultValue?: T) {
    super(name)
  }
}

/** Describes a `ListState` (keyed or operator). */
export class ListStateDescriptor<T> extends StateDescriptor<'list'> {
  readonly kind = 'list' as const
  constructor(name: string, readonly elementSerializer?: TypeSerializer<T>) {
    super(name)
  }
}

/** Describes a `MapState` (keyed) or a `BroadcastState` (operator). */
export class MapStateDescriptor<UK, UV> extends StateDescriptor<'map'> {
  readonly kind = 'map' as const
  constructor(name: string, readonly keySerializer?: TypeSerializer<UK>, readonly valueSerializer?: TypeSerializer<UV>) {
    super(name)
  }
}

/** Describes a `ReducingState`. */
export class ReducingStateDescriptor<T> extends StateDescriptor<'reducing'> {
  readonly kind = 'reducing' as const
  constructor(name: string, readonly reduce: (a: T, b: T) => T, readonly serializer?: TypeSerializer<T>) {
    super(name)
  }
}

/** Describes an `AggregatingState`. */
export class AggregatingStateDescriptor<IN, ACC, OUT> extends StateDescriptor<'aggregating'> {
  readonly kind = 'aggregating' as const
  constructor(name: string, readonly aggregate: AggregateFunction<IN, ACC, OUT>, readonly accumulatorSerializer?: TypeSerializer<ACC>) {
    super(name)
  }
}
