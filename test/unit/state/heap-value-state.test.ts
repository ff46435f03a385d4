import { describe } from 'node:test'
import { heapFactory } from './heap-factory.ts'
import { valueStateTests } from './keyed-backend-suite.ts'

describe('heap keyed state backend', () => {
  valueStateTests(heapFactory)
})
