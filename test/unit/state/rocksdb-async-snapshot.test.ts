import { describe } from 'node:test'
import { asyncSnapshotTests } from './keyed-backend-suite.ts'
import { rocksDBFactory } from './rocksdb-factory.ts'

describe('RocksDB keyed state backend', () => {
  asyncSnapshotTests(rocksDBFactory)
})
