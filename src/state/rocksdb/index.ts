/** The RocksDB keyed state backend: keyed state in one local RocksDB instance per operator subtask. */
export { rocksDBStateBackend, resolveRocksDBOptions, type RocksDBStateBackendOptions, type ResolvedRocksDBOptions } from './rocksdb-state-backend.ts'
export { RocksDBKeyedStateBackend, type RocksDBKeyedStateBackendOptions } from './rocksdb-keyed-state-backend.ts'
