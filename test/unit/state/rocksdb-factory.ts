import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RocksDBKeyedStateBackend, resolveRocksDBOptions } from '../../../src/state/rocksdb/index.ts'
import type { KeyedBackendFactory } from './keyed-backend-suite.ts'

/** Root of the test instances' directories; each backend removes its own on dispose. */
export const ROCKSDB_TEST_ROOT = join(tmpdir(), `weir-rocksdb-test-${process.pid}`)
process.once('exit', () => rmSync(ROCKSDB_TEST_ROOT, { recursive: true, force: true }))

/** Test states fit in one memtable, so no flush or compaction runs; the block cache stays small. */
export const rocksDBTestOptions = resolveRocksDBOptions({ directory: ROCKSDB_TEST_ROOT, blockCacheSize: 1024 * 1024 })

/** Creates RocksDB backends for the shared keyed-backend suite. */
export const rocksDBFactory: KeyedBackendFactory = (options) =>
  new RocksDBKeyedStateBackend({ ...options, operatorName: 'test-operator', root: rocksDBTestOptions.directory, rocksdb: rocksDBTestOptions.rocksdb, cache: rocksDBTestOptions.cache })
