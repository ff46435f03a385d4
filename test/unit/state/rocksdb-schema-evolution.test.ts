import { describe } from 'node:test'
import { RocksDBKeyedStateBackend } from '../../../src/state/rocksdb/index.ts'
import { rocksDBTestOptions } from './rocksdb-factory.ts'
import { schemaEvolutionTests, type BackendFactory } from './serializer-compatibility.test.ts'

const rocksdb: BackendFactory = (maxParallelism, keyGroupRange) =>
  new RocksDBKeyedStateBackend({ maxParallelism, keyGroupRange, operatorName: 'evolving', root: rocksDBTestOptions.directory, rocksdb: rocksDBTestOptions.rocksdb, cache: rocksDBTestOptions.cache })

// Importing the heap's file also runs its own cases here; they take milliseconds.
describe('schema evolution of RocksDB keyed state', () => {
  schemaEvolutionTests(rocksdb)
})
