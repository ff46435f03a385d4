import type { KeyGroupRange } from './key-groups.ts'
import type { KeyedStateBackend } from './keyed-state-backend.ts'
import type { OperatorStateBackend } from './operator-state-backend.ts'
import type { TtlTimeProvider } from './ttl.ts'

/** Options for creating one subtask's keyed backend. */
export interface KeyedBackendOptions {
  maxParallelism: number
  keyGroupRange: KeyGroupRange
  operatorName: string
  timeProvider?: TtlTimeProvider
}

/** Where a job keeps its state: creates the backends of each operator subtask (heap, RocksDB). */
export interface StateBackend {
  readonly name: string
  createKeyedBackend(options: KeyedBackendOptions): KeyedStateBackend
  createOperatorBackend(subtaskIndex: number): OperatorStateBackend
}
