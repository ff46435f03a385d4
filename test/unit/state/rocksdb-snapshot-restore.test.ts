import { describe } from 'node:test'
import { snapshotRestoreTests } from './keyed-backend-suite.ts'
import { rocksDBFactory } from './rocksdb-factory.ts'

describe('RocksDB keyed state backend', () => {
  snapshotRestoreTests(rocksDBFactory)
})
