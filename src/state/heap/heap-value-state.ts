import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import type { ValueStateDescriptor } from '../descriptors.ts'
import type { InternalValueState } from '../keyed-state-backend.ts'
import type { HeapStateEnv } from './heap-state.ts'
import { SingleValueHeapState } from './single-value-state.ts'
import { ABSENT } from './ttl-policy.ts'

/** `ValueState` on the heap. */
export class HeapValueState<N, T> extends SingleValueHeapState<N, T> implements InternalValueState<N, T> {
  readonly kind = 'value' as const
  private readonly defaultValue: T | undefined

  constructor(env: HeapStateEnv, descriptor: ValueStateDescriptor<T>, namespaceSerializer: TypeSerializer<unknown>) {
    super(env, descriptor, namespaceSerializer, descriptor.serializer ?? Types.default<T>())
    this.defaultValue = descriptor.defaultValue
  }

  value(): T | undefined {
    const value = this.readAt(this.nsId, this.namespace, true)
    return value === ABSENT ? this.defaultValue : value
  }

  update(value: T | undefined): void {
    if (value === undefined) this.table.remove(this.nsId)
    else this.writeAt(this.nsId, this.namespace, value)
  }
}
