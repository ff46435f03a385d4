import { HeapKeyedStateBackend } from '../../../src/state/heap/index.ts'
import type { KeyedBackendFactory } from './keyed-backend-suite.ts'

/** Creates heap backends for the shared keyed-backend suite. */
export const heapFactory: KeyedBackendFactory = (options) => new HeapKeyedStateBackend({ ...options, operatorName: 'test-operator' })
