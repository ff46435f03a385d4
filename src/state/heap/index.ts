/** The heap keyed state backend: state as live objects, serialized only for snapshots. */
export { HeapKeyedStateBackend, type HeapKeyedStateBackendOptions } from './heap-keyed-state-backend.ts'
