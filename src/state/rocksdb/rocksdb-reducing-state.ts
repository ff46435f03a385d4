import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import type { ReducingStateDescriptor } from '../descriptors.ts'
import { ABSENT } from '../heap/ttl-policy.ts'
import type { InternalReducingState } from '../keyed-state-backend.ts'
import type { RocksStateEnv } from './rocksdb-state.ts'
import { RocksSingleValueState } from './single-value-state.ts'

/** `ReducingState` in RocksDB: the row holds the reduced value; each add reads and writes it. */
export class RocksReducingState<N, T> extends RocksSingleValueState<N, T> implements InternalReducingState<N, T> {
  readonly kind = 'reducing' as const
  private readonly reduce: (a: T, b: T) => T

  constructor(env: RocksStateEnv, descriptor: ReducingStateDescriptor<T>, namespaceSerializer: TypeSerializer<unknown>, stateId: number) {
    super(env, descriptor, namespaceSerializer, stateId, descriptor.serializer ?? Types.default<T>())
    this.reduce = descriptor.reduce
  }

  get(): T | undefined {
    const value = this.readAt(this.namespacePart, true)
    return value === ABSENT ? undefined : value
  }

  /** As Flink, adding `undefined` (Java's null) clears the state. */
  add(value: T): void {
    if (value === undefined) {
      this.clear()
      return
    }
    const current = this.readAt(this.namespacePart, false)
    this.writeAt(this.namespacePart, current === ABSENT ? value : this.reduce(current, value))
  }

  mergeNamespaces(target: N, sources: readonly N[]): void {
    this.mergeWith(target, sources, this.reduce)
  }
}
