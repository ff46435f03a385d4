import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import type { AggregatingStateDescriptor } from '../descriptors.ts'
import type { InternalAggregatingState } from '../keyed-state-backend.ts'
import type { AggregateFunction } from '../state.ts'
import type { HeapStateEnv } from './heap-state.ts'
import { SingleValueHeapState } from './single-value-state.ts'
import { ABSENT } from './ttl-policy.ts'

/** `AggregatingState` on the heap: the table holds the accumulator. */
export class HeapAggregatingState<N, IN, ACC, OUT> extends SingleValueHeapState<N, ACC> implements InternalAggregatingState<N, IN, OUT> {
  readonly kind = 'aggregating' as const
  private readonly aggregate: AggregateFunction<IN, ACC, OUT>
  private readonly mergeAccumulators: (a: ACC, b: ACC) => ACC

  constructor(env: HeapStateEnv, descriptor: AggregatingStateDescriptor<IN, ACC, OUT>, namespaceSerializer: TypeSerializer<unknown>) {
    super(env, descriptor, namespaceSerializer, descriptor.accumulatorSerializer ?? Types.default<ACC>())
    this.aggregate = descriptor.aggregate
    this.mergeAccumulators = (a, b) => this.aggregate.merge(a, b)
  }

  get(): OUT | undefined {
    const accumulator = this.readAt(this.nsId, this.namespace, true)
    return accumulator === ABSENT ? undefined : this.aggregate.getResult(accumulator)
  }

  /** As Flink, adding `undefined` (Java's null) clears the state. */
  add(value: IN): void {
    if (value === undefined) {
      this.clear()
      return
    }
    const current = this.readForUpdateAt(this.nsId)
    const accumulator = current === ABSENT ? this.aggregate.createAccumulator() : current
    this.writeAt(this.nsId, this.namespace, this.aggregate.add(value, accumulator))
  }

  mergeNamespaces(target: N, sources: readonly N[]): void {
    this.mergeWith(target, sources, this.mergeAccumulators)
  }
}
