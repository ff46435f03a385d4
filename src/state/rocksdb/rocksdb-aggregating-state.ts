import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import type { AggregatingStateDescriptor } from '../descriptors.ts'
import { ABSENT } from '../heap/ttl-policy.ts'
import type { InternalAggregatingState } from '../keyed-state-backend.ts'
import type { AggregateFunction } from '../state.ts'
import type { RocksStateEnv } from './rocksdb-state.ts'
import { RocksSingleValueState } from './single-value-state.ts'

/** `AggregatingState` in RocksDB: the row holds the accumulator; each add reads and writes it. */
export class RocksAggregatingState<N, IN, ACC, OUT> extends RocksSingleValueState<N, ACC> implements InternalAggregatingState<N, IN, OUT> {
  readonly kind = 'aggregating' as const
  private readonly aggregate: AggregateFunction<IN, ACC, OUT>
  private readonly mergeAccumulators: (a: ACC, b: ACC) => ACC

  constructor(env: RocksStateEnv, descriptor: AggregatingStateDescriptor<IN, ACC, OUT>, namespaceSerializer: TypeSerializer<unknown>, stateId: number) {
    super(env, descriptor, namespaceSerializer, stateId, descriptor.accumulatorSerializer ?? Types.default<ACC>())
    this.aggregate = descriptor.aggregate
    this.mergeAccumulators = (a, b) => this.aggregate.merge(a, b)
  }

  get(): OUT | undefined {
    const accumulator = this.readAt(this.namespacePart, true)
    return accumulator === ABSENT ? undefined : this.aggregate.getResult(accumulator)
  }

  /** As Flink, adding `undefined` (Java's null) clears the state. */
  add(value: IN): void {
    if (value === undefined) {
      this.clear()
      return
    }
    const current = this.readAt(this.namespacePart, false)
    const accumulator = current === ABSENT ? this.aggregate.createAccumulator() : current
    this.writeAt(this.namespacePart, this.aggregate.add(value, accumulator))
  }

  mergeNamespaces(target: N, sources: readonly N[]): void {
    this.mergeWith(target, sources, this.mergeAccumulators)
  }
}
