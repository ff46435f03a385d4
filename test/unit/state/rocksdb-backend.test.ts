import { describe } from 'node:test'
import { backendTests, listStateTests, mapStateTests, namespaceTests, reducingAggregatingTests, ttlTests, valueStateTests } from './keyed-backend-suite.ts'
import { rocksDBFactory } from './rocksdb-factory.ts'

// The shared suite, split over three files as for the heap backend so the runner can run them in
// parallel: the snapshot parts are in rocksdb-snapshot-restore.test.ts and rocksdb-async-snapshot.test.ts.
describe('RocksDB keyed state backend', () => {
  valueStateTests(rocksDBFactory)
  listStateTests(rocksDBFactory)
  mapStateTests(rocksDBFactory)
  reducingAggregatingTests(rocksDBFactory)
  ttlTests(rocksDBFactory)
  namespaceTests(rocksDBFactory)
  backendTests(rocksDBFactory)
})
