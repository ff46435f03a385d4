import type { KeyedStateStore } from '../../api/runtime-context.ts'
import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { StateDescriptor } from '../../state/descriptors.ts'
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../../state/descriptors.ts'
import type { KeyedStateBackend, Namespaced } from '../../state/keyed-state-backend.ts'

/** The keyed state of a descriptor, of any kind, switched to `namespace` (a window). */
export function namespacedState<N>(backend: KeyedStateBackend, descriptor: StateDescriptor, serializer: TypeSerializer<N>, namespace: N): Namespaced<N> {
  let state: Namespaced<N>
  switch (descriptor.kind) {
    case 'value':
      state = backend.getValueState(descriptor as ValueStateDescriptor<unknown>, serializer)
      break
    case 'list':
      state = backend.getListState(descriptor as ListStateDescriptor<unknown>, serializer)
      break
    case 'map':
      state = backend.getMapState(descriptor as MapStateDescriptor<unknown, unknown>, serializer)
      break
    case 'reducing':
      state = backend.getReducingState(descriptor as ReducingStateDescriptor<unknown>, serializer)
      break
    case 'aggregating':
      state = backend.getAggregatingState(descriptor as AggregatingStateDescriptor<unknown, unknown, unknown>, serializer)
      break
  }
  state.setCurrentNamespace(namespace)
  return state
}

/**
 * A keyed state store whose states live in the namespace `namespace()` returns, read at each
 * `get*` call: handles are meant to be used right away, within the call that got them.
 */
export function namespacedStateStore<N>(backend: KeyedStateBackend, serializer: TypeSerializer<N>, namespace: () => N): KeyedStateStore {
  const get = <S>(descriptor: StateDescriptor): S => namespacedState(backend, descriptor, serializer, namespace()) as unknown as S
  return {
    getState: (d) => get(d),
    getListState: (d) => get(d),
    getMapState: (d) => get(d),
    getReducingState: (d) => get(d),
    getAggregatingState: (d) => get(d),
  }
}
