import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import type { ValueStateDescriptor } from '../descriptors.ts'
import { ABSENT } from '../heap/ttl-policy.ts'
import type { InternalValueState } from '../keyed-state-backend.ts'
import type { RocksStateEnv } from './rocksdb-state.ts'
import { RocksSingleValueState } from './single-value-state.ts'

/** `ValueState` in RocksDB. */
export class RocksValueState<N, T> extends RocksSingleValueState<N, T> implements InternalValueState<N, T> {
  readonly kind = 'value' as const
  private readonly defaultValue: T | undefined

  constructor(env: RocksStateEnv, descriptor: ValueStateDescriptor<T>, namespaceSerializer: TypeSerializer<unknown>, stateId: number) {
    super(env, descriptor, namespaceSerializer, stateId, descriptor.serializer ?? Types.default<T>())
    this.defaultValue = descriptor.defaultValue
  }

  value(): T | undefined {
    const value = this.readAt(this.namespacePart, true)
    return value === ABSENT ? this.defaultValue : value
  }

  update(value: T | undefined): void {
    this.writeAt(this.namespacePart, value as T)
  }
}
