import type { ListStateDescriptor, MapStateDescriptor } from './descriptors.ts'
import type { OperatorStateSnapshot } from './snapshot.ts'
import type { BroadcastState, ListState } from './state.ts'

/**
 * Non-keyed state of one operator subtask: list state (split on rescale), union list state (every
 * subtask gets all of it) and broadcast state (the same map in every subtask; one copy is stored).
 */
export interface OperatorStateBackend {
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V>
  snapshot(): OperatorStateSnapshot
  /**
   * Loads state from the snapshots of every old subtask (in subtask order), redistributed for
   * subtask `subtaskIndex` of `parallelism`: split lists are concatenated and dealt round robin,
   * union lists are given whole, broadcast state comes from one stored copy.
   */
  restore(snapshots: readonly OperatorStateSnapshot[], subtaskIndex: number, parallelism: number): void
}
