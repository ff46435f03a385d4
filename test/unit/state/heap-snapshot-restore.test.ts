import { describe } from 'node:test'
import { heapFactory } from './heap-factory.ts'
import { snapshotRestoreTests } from './keyed-backend-suite.ts'

describe('heap keyed state backend', () => {
  snapshotRestoreTests(heapFactory)
})
