import { describe } from 'node:test'
import { heapFactory } from './heap-factory.ts'
import { mapStateTests } from './keyed-backend-suite.ts'

describe('heap keyed state backend', () => {
  mapStateTests(heapFactory)
})
