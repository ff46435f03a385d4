import type { SerializerSnapshot, TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { snapshotOf } from '../../api/serialization/type-serializer.ts'
import { Types } from '../../api/serialization/types.ts'
import type { ListStateDescriptor, MapStateDescriptor, StateDescriptor } from '../descriptors.ts'
import type { OperatorStateBackend } from '../operator-state-backend.ts'
import type { OperatorListMode, OperatorStateEntry, OperatorStateSnapshot } from '../snapshot.ts'
import type { BroadcastState, ListState } from '../state.ts'
import { StateError } from '../../errors.ts'
import { checkSerializerCompatibility } from '../serializer-compatibility.ts'
import { HeapBroadcastState } from './broadcast-state.ts'
import { OperatorListState } from './operator-list-state.ts'
import { redistributeOperatorState, type RestoredOperatorState } from './redistribution.ts'

const modeName = (mode: OperatorListMode): string => (mode === 'split' ? 'list state (split on restore)' : 'union list state')

/**
 * The operator-state backend on the heap: list, union list and broadcast state of one subtask, kept
 * as JavaScript values and serialized only in `snapshot`.
 */
export class DefaultOperatorStateBackend implements OperatorStateBackend {
  private readonly lists = new Map<string, OperatorListState<unknown>>()
  private readonly broadcasts = new Map<string, HeapBroadcastState<unknown, unknown>>()
  /**
   * Restored states not requested yet. They stay as bytes, because only the descriptor knows the
   * serializer to read them with, and go into later snapshots as they are so nothing is lost when
   * an operator does not ask for a state in this run.
   */
  private pending = new Map<string, RestoredOperatorState>()

  constructor(readonly subtaskIndex: number) {
    if (!Number.isInteger(subtaskIndex) || subtaskIndex < 0) throw new StateError(`Operator state backend: subtask index must be a non-negative integer, got ${subtaskIndex}`)
  }

  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.listState(descriptor, 'split')
  }

  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.listState(descriptor, 'union')
  }

  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V> {
    const name = this.checkDescriptor(descriptor, 'map', 'a broadcast state')
    const keySerializer = descriptor.keySerializer ?? Types.default<K>()
    const valueSerializer = descriptor.valueSerializer ?? Types.default<V>()
    const existing = this.broadcasts.get(name)
    if (existing !== undefined) {
      checkSameSerializer(name, 'key', existing.keySerializer, keySerializer)
      checkSameSerializer(name, 'value', existing.valueSerializer, valueSerializer)
      return existing as HeapBroadcastState<unknown, unknown> as HeapBroadcastState<K, V>
    }
    const list = this.lists.get(name)
    if (list !== undefined) throw new StateError(`Operator state '${name}' is already a ${modeName(list.mode)}; it cannot also be a broadcast state`)

    const state = new HeapBroadcastState<K, V>(name, keySerializer, valueSerializer)
    const restored = this.pending.get(name)
    if (restored !== undefined) {
      if (restored.kind !== 'broadcast') throw new StateError(`Operator state '${name}' was restored as a ${modeName(restored.mode)}; it cannot be read as a broadcast state`)
      const readKey = restoredReader(name, 'key', restored.keySerializer, keySerializer)
      const readValue = restoredReader(name, 'value', restored.valueSerializer, valueSerializer)
      restored.entries.forEach(([keyBytes, valueBytes], i) => {
        state.put(deserialize(name, readKey, keyBytes, `key of entry ${i}`), deserialize(name, readValue, valueBytes, `value of entry ${i}`))
      })
      this.pending.delete(name)
    }
    this.broadcasts.set(name, state as HeapBroadcastState<unknown, unknown>)
    return state
  }

  snapshot(): OperatorStateSnapshot {
    const states: OperatorStateEntry[] = []
    for (const list of this.lists.values()) {
      states.push({ name: list.name, kind: 'list', mode: list.mode, serializer: snapshotOf(list.serializer), elements: list.serializeElements() })
    }
    // Every subtask holds the same broadcast map, so one copy is enough.
    if (this.subtaskIndex === 0) {
      for (const broadcast of this.broadcasts.values()) {
        states.push({
          name: broadcast.name,
          kind: 'broadcast',
          keySerializer: snapshotOf(broadcast.keySerializer),
          valueSerializer: snapshotOf(broadcast.valueSerializer),
          entries: broadcast.serializeEntries(),
        })
      }
    }
    for (const restored of this.pending.values()) {
      if (restored.kind === 'list') {
        // Each subtask holds its own share of a split list. A union list that nobody asked for is
        // the whole old union in every subtask; one copy restores it exactly, more would multiply it.
        if (restored.mode === 'split' || this.subtaskIndex === 0) {
          states.push({ name: restored.name, kind: 'list', mode: restored.mode, serializer: restored.serializer, elements: restored.elements.slice() })
        }
      } else if (this.subtaskIndex === 0) {
        states.push({ name: restored.name, kind: 'broadcast', keySerializer: restored.keySerializer, valueSerializer: restored.valueSerializer, entries: restored.entries.slice() })
      }
    }
    return { states }
  }

  restore(snapshots: readonly OperatorStateSnapshot[], subtaskIndex: number, parallelism: number): void {
    if (subtaskIndex !== this.subtaskIndex) {
      throw new StateError(`Operator state backend of subtask ${this.subtaskIndex} was asked to restore the state of subtask ${subtaskIndex}`)
    }
    // Values already handed to user code would silently diverge from the restored ones.
    if (this.lists.size > 0 || this.broadcasts.size > 0) {
      const names = [...this.lists.keys(), ...this.broadcasts.keys()].map((n) => `'${n}'`).join(', ')
      throw new StateError(`Operator state must be restored before any state is requested; already requested: ${names}`)
    }
    this.pending = redistributeOperatorState(snapshots, subtaskIndex, parallelism)
  }

  private listState<T>(descriptor: ListStateDescriptor<T>, mode: OperatorListMode): ListState<T> {
    const name = this.checkDescriptor(descriptor, 'list', `a ${modeName(mode)}`)
    const serializer = descriptor.elementSerializer ?? Types.default<T>()
    const existing = this.lists.get(name)
    if (existing !== undefined) {
      if (existing.mode !== mode) throw new StateError(`Operator state '${name}' is already a ${modeName(existing.mode)}; it cannot also be a ${modeName(mode)}`)
      checkSameSerializer(name, 'element', existing.serializer, serializer)
      return existing as OperatorListState<unknown> as OperatorListState<T>
    }
    if (this.broadcasts.has(name)) throw new StateError(`Operator state '${name}' is already a broadcast state; it cannot also be a ${modeName(mode)}`)

    let elements: T[] = []
    const restored = this.pending.get(name)
    if (restored !== undefined) {
      if (restored.kind !== 'list') throw new StateError(`Operator state '${name}' was restored as a broadcast state; it cannot be read as a ${modeName(mode)}`)
      if (restored.mode !== mode) throw new StateError(`Operator state '${name}' was restored as a ${modeName(restored.mode)}; it cannot be read as a ${modeName(mode)}`)
      const read = restoredReader(name, 'element', restored.serializer, serializer)
      elements = restored.elements.map((bytes, i) => deserialize(name, read, bytes, `element ${i}`))
      this.pending.delete(name)
    }
    const state = new OperatorListState<T>(name, mode, serializer, elements)
    this.lists.set(name, state as OperatorListState<unknown>)
    return state
  }

  /** Refuses descriptors operator state cannot honour; returns the state name. */
  private checkDescriptor(descriptor: StateDescriptor, kind: 'list' | 'map', what: string): string {
    const name = descriptor.name
    if (descriptor.kind !== kind) throw new StateError(`Operator state '${name}': a ${descriptor.kind} state descriptor cannot describe ${what}`)
    // Operator state has no key and no clock to expire entries by (Flink does not offer it either).
    if (descriptor.ttl !== undefined) throw new StateError(`Operator state '${name}': time to live is only supported for keyed state`)
    return name
  }
}

function checkSameSerializer(name: string, role: string, registered: TypeSerializer<unknown>, requested: TypeSerializer<unknown>): void {
  if (registered.id !== requested.id || registered.version !== requested.version) {
    throw new StateError(`Operator state '${name}' is registered with ${role} serializer '${registered.id}' v${registered.version}; it was requested again with '${requested.id}' v${requested.version}`)
  }
}

/** How to read a restored state's bytes: as they are, or migrated from an older layout; throws when neither works. */
function restoredReader<T>(name: string, role: string, stored: SerializerSnapshot, serializer: TypeSerializer<T>): (bytes: Uint8Array) => T {
  const migration = checkSerializerCompatibility(`Operator state '${name}'`, role, stored, serializer)
  if (migration !== null) return migration.read
  return (bytes) => {
    try {
      return serializer.deserialize(bytes)
    } catch (cause) {
      throw new StateError(`Operator state '${name}': serializer '${serializer.id}' could not read the ${role}: ${String(cause)}`, { cause })
    }
  }
}

function deserialize<T>(name: string, read: (bytes: Uint8Array) => T, bytes: Uint8Array, what: string): T {
  try {
    return read(bytes)
  } catch (cause) {
    // Migration and read errors name the state and serializer already; this adds which element.
    if (cause instanceof StateError) throw new StateError(`${cause.message} (${what})`, { cause: cause.cause })
    throw new StateError(`Operator state '${name}': could not read the ${what}: ${String(cause)}`, { cause })
  }
}
