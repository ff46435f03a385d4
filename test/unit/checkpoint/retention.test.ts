import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { SnapshotKind } from '../../../src/checkpoint/checkpoint-storage.ts'
import { checkpointsToDiscard } from '../../../src/checkpoint/retention.ts'
import { WeirError } from '../../../src/errors.ts'

const completed = (...ids: number[]): { checkpointId: number; kind: SnapshotKind }[] => ids.map((checkpointId) => ({ checkpointId, kind: 'checkpoint' }))
const ids = (list: { checkpointId: number }[]): number[] => list.map((c) => c.checkpointId)

describe('checkpointsToDiscard', () => {
  it('keeps the newest N and returns the rest, oldest first', () => {
    assert.deepEqual(ids(checkpointsToDiscard(completed(1, 2, 3, 4, 5), 2)), [1, 2, 3])
    assert.deepEqual(ids(checkpointsToDiscard(completed(5, 1, 4, 2, 3), 3)), [1, 2])
  })

  it('discards nothing when there are no more than N', () => {
    assert.deepEqual(checkpointsToDiscard(completed(1, 2), 2), [])
    assert.deepEqual(checkpointsToDiscard(completed(), 1), [])
  })

  it('never discards the latest, even with retain 0', () => {
    assert.deepEqual(ids(checkpointsToDiscard(completed(1, 2, 3), 0)), [1, 2])
    assert.deepEqual(checkpointsToDiscard(completed(7), 0), [])
  })

  it('leaves savepoints alone', () => {
    const list = [...completed(1, 2), { checkpointId: 3, kind: 'savepoint' as const }, ...completed(4)]
    assert.deepEqual(ids(checkpointsToDiscard(list, 1)), [1, 2])
  })

  it('refuses a negative or fractional count', () => {
    assert.throws(() => checkpointsToDiscard(completed(1), -1), WeirError)
    assert.throws(() => checkpointsToDiscard(completed(1), 1.5), WeirError)
  })
})
