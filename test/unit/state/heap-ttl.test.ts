import { describe } from 'node:test'
import { heapFactory } from './heap-factory.ts'
import { ttlTests } from './keyed-backend-suite.ts'

describe('heap keyed state backend', () => {
  ttlTests(heapFactory)
})
