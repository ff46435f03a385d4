import { describe } from 'node:test'
import { heapFactory } from './heap-factory.ts'
import { listStateTests } from './keyed-backend-suite.ts'

describe('heap keyed state backend', () => {
  listStateTests(heapFactory)
})
