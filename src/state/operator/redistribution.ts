import type { SerializerSnapshot } from '../../api/serialization/type-serializer.ts'
import type { OperatorListMode, OperatorStateSnapshot } from '../snapshot.ts'
import { StateError } from '../../errors.ts'

/** A list state as one new subtask receives it on restore, still as bytes. */
export interface RestoredListState {
  kind: 'list'
  name: string
  mode: OperatorListMode
  serializer: SerializerSnapshot
  elements: Uint8Array[]
}

/** A broadcast state as every new subtask receives it on restore, still as bytes. */
export interface RestoredBroadcastState {
  kind: 'broadcast'
  name: string
  keySerializer: SerializerSnapshot
  valueSerializer: SerializerSnapshot
  entries: [Uint8Array, Uint8Array][]
}

/** One operator state restored for one subtask. */
export type RestoredOperatorState = RestoredListState | RestoredBroadcastState

const sameSerializer = (a: SerializerSnapshot, b: SerializerSnapshot): boolean => a.id === b.id && a.version === b.version
const describe = (s: SerializerSnapshot): string => `${s.id} v${s.version}`

/**
 * The share of the old subtasks' operator state (`snapshots`, in old subtask order) that new subtask
 * `subtaskIndex` of `parallelism` gets:
 * - split lists: at the same parallelism, each subtask's own list; otherwise all old elements
 *   concatenated in subtask order, element i to subtask i % parallelism;
 * - union lists: every element of every old subtask;
 * - broadcast: the first stored copy (only one subtask writes it).
 *
 * Throws `StateError` when the snapshots disagree about a state (kind, mode or serializer), which
 * means they do not belong to one checkpoint of one operator.
 */
export function redistributeOperatorState(
  snapshots: readonly OperatorStateSnapshot[],
  subtaskIndex: number,
  parallelism: number,
): Map<string, RestoredOperatorState> {
  if (!Number.isInteger(parallelism) || parallelism < 1) {
    throw new StateError(`Operator state restore: parallelism must be a positive integer, got ${parallelism}`)
  }
  if (!Number.isInteger(subtaskIndex) || subtaskIndex < 0 || subtaskIndex >= parallelism) {
    throw new StateError(`Operator state restore: subtask index must be an integer from 0 to ${parallelism - 1}, got ${subtaskIndex}`)
  }

  const merged = new Map<string, RestoredOperatorState>()
  snapshots.forEach((snapshot, oldIndex) => {
    const names = new Set<string>()
    for (const entry of snapshot.states) {
      if (names.has(entry.name)) throw new StateError(`Operator state '${entry.name}' appears twice in the snapshot of old subtask ${oldIndex}`)
      names.add(entry.name)
      const seen = merged.get(entry.name)
      if (entry.kind === 'list') {
        if (seen === undefined) {
          merged.set(entry.name, { kind: 'list', name: entry.name, mode: entry.mode, serializer: entry.serializer, elements: [...entry.elements] })
          continue
        }
        if (seen.kind !== 'list') throw new StateError(`Operator state '${entry.name}' is a broadcast state in one old subtask and a list state in old subtask ${oldIndex}`)
        if (seen.mode !== entry.mode) throw new StateError(`Operator state '${entry.name}' is a ${seen.mode} list in one old subtask and a ${entry.mode} list in old subtask ${oldIndex}`)
        if (!sameSerializer(seen.serializer, entry.serializer)) {
          throw new StateError(`Operator state '${entry.name}' was written with serializer ${describe(seen.serializer)} and, in old subtask ${oldIndex}, with ${describe(entry.serializer)}`)
        }
        for (const element of entry.elements) seen.elements.push(element)
      } else {
        if (seen === undefined) {
          merged.set(entry.name, { kind: 'broadcast', name: entry.name, keySerializer: entry.keySerializer, valueSerializer: entry.valueSerializer, entries: entry.entries })
          continue
        }
        if (seen.kind !== 'broadcast') throw new StateError(`Operator state '${entry.name}' is a list state in one old subtask and a broadcast state in old subtask ${oldIndex}`)
        // Every subtask holds the same map, so any further copy adds nothing.
      }
    }
  })

  // At unchanged parallelism each subtask keeps its own list, as in Flink: a source reader gets back
  // exactly its splits, in its order.
  const unchanged = snapshots.length === parallelism
  for (const state of merged.values()) {
    if (state.kind === 'list' && state.mode === 'split') {
      if (unchanged) {
        const own = snapshots[subtaskIndex].states.find((e) => e.name === state.name)
        state.elements = own && own.kind === 'list' ? [...own.elements] : []
      } else {
        state.elements = state.elements.filter((_, i) => i % parallelism === subtaskIndex)
      }
    }
  }
  return merged
}
