import { describe } from 'node:test'
import { heapFactory } from './heap-factory.ts'
import { reducingAggregatingTests } from './keyed-backend-suite.ts'

describe('heap keyed state backend', () => {
  reducingAggregatingTests(heapFactory)
})
