import { HeapKeyedStateBackend } from './heap/heap-keyed-state-backend.ts'
import { DefaultOperatorStateBackend } from './operator/default-operator-state-backend.ts'
import type { StateBackend } from './state-backend.ts'

/** Keeps state as objects on the JavaScript heap: fastest, bounded by memory. The default. */
export function heapStateBackend(): StateBackend {
  return {
    name: 'heap',
    createKeyedBackend: (options) =>
      new HeapKeyedStateBackend({
        maxParallelism: options.maxParallelism,
        keyGroupRange: options.keyGroupRange,
        operatorName: options.operatorName,
        ...(options.timeProvider ? { timeProvider: options.timeProvider } : {}),
      }),
    createOperatorBackend: (subtaskIndex) => new DefaultOperatorStateBackend(subtaskIndex),
  }
}
