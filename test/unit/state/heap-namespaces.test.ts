import { describe } from 'node:test'
import { heapFactory } from './heap-factory.ts'
import { namespaceTests } from './keyed-backend-suite.ts'

describe('heap keyed state backend', () => {
  namespaceTests(heapFactory)
})
