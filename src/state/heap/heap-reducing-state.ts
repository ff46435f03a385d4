import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import type { ReducingStateDescriptor } from '../descriptors.ts'
import type { InternalReducingState } from '../keyed-state-backend.ts'
import type { HeapStateEnv } from './heap-state.ts'
import { SingleValueHeapState } from './single-value-state.ts'
import { ABSENT } from './ttl-policy.ts'

/** `ReducingState` on the heap: the table holds the reduced value. */
export class HeapReducingState<N, T> extends SingleValueHeapState<N, T> implements InternalReducingState<N, T> {
  readonly kind = 'reducing' as const
  private readonly reduce: (a: T, b: T) => T

  constructor(env: HeapStateEnv, descriptor: ReducingStateDescriptor<T>, namespaceSerializer: TypeSerializer<unknown>) {
    super(env, descriptor, namespaceSerializer, descriptor.serializer ?? Types.default<T>())
    this.reduce = descriptor.reduce
  }

  get(): T | undefined {
    const value = this.readAt(this.nsId, this.namespace, true)
    return value === ABSENT ? undefined : value
  }

  /** As Flink, adding `undefined` (Java's null) clears the state. */
  add(value: T): void {
    if (value === undefined) {
      this.clear()
      return
    }
    const current = this.readForUpdateAt(this.nsId)
    this.writeAt(this.nsId, this.namespace, current === ABSENT ? value : this.reduce(current, value))
  }

  mergeNamespaces(target: N, sources: readonly N[]): void {
    this.mergeWith(target, sources, this.reduce)
  }
}
