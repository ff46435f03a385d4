import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  DEFAULT_MAX_PARALLELISM,
  KeyGroupRange,
  UPPER_BOUND_MAX_PARALLELISM,
  checkParallelism,
  keyGroupForKey,
  keyGroupRangeForSubtask,
  operatorIndexForKeyGroup,
} from '../../../src/state/key-groups.ts'
import { murmur3_32 } from '../../../src/state/murmur3.ts'
import { serializeKey } from '../../../src/state/key-serialization.ts'
import { InvalidKeyError, WeirError } from '../../../src/errors.ts'

const isInvalidParallelism = (error: unknown): boolean => error instanceof WeirError && error.code === 'INVALID_PARALLELISM'

describe('key groups', () => {
  describe('keyGroupForKey', () => {
    it('is murmur3 of the canonical key bytes modulo max parallelism', () => {
      for (const key of ['a', 42, 7n, true, ['x', 1], { id: 3, region: 'eu' }]) {
        assert.equal(keyGroupForKey(key, 128), murmur3_32(serializeKey(key)) % 128)
        assert.equal(keyGroupForKey(key, 1000), murmur3_32(serializeKey(key)) % 1000)
      }
    })

    it('is pinned for a few keys, so a change that moves state on restore is noticed', () => {
      const pinned = ['user-1', 0, 1, 'a', [1, 'a'], { b: 2, a: 1 }].map((key) => keyGroupForKey(key, DEFAULT_MAX_PARALLELISM))
      const again = ['user-1', 0, 1, 'a', [1, 'a'], { a: 1, b: 2 }].map((key) => keyGroupForKey(key, DEFAULT_MAX_PARALLELISM))
      assert.deepEqual(again, pinned)
      assert.deepEqual(pinned, [106, 25, 71, 82, 64, 120])
      // The same numbers straight from the pinned canonical bytes of the last key.
      assert.equal(murmur3_32(Buffer.from('0700000002010000000161023ff0000000000000010000000162024000000000000000', 'hex')) % 128, 120)
    })

    it('is deterministic and in range for many keys and max parallelisms', () => {
      for (const maxParallelism of [1, 2, 7, 128, 1000, UPPER_BOUND_MAX_PARALLELISM]) {
        for (let i = 0; i < 2000; i++) {
          const key = i % 2 === 0 ? `key-${i}` : { id: i, kind: 'k' }
          const group = keyGroupForKey(key, maxParallelism)
          assert.ok(Number.isInteger(group) && group >= 0 && group < maxParallelism, `${group} for max ${maxParallelism}`)
          assert.equal(keyGroupForKey(key, maxParallelism), group)
        }
      }
    })

    it('gives equal keys the same group: field order, -0 and fresh copies do not matter', () => {
      assert.equal(keyGroupForKey({ a: 1, b: 2 }, 128), keyGroupForKey({ b: 2, a: 1 }, 128))
      assert.equal(keyGroupForKey(-0, 128), keyGroupForKey(0, 128))
      assert.equal(keyGroupForKey(['x', [1]], 128), keyGroupForKey(['x', [1]], 128))
    })

    it('rejects invalid keys with InvalidKeyError', () => {
      assert.throws(() => keyGroupForKey(undefined, 128), InvalidKeyError)
      assert.throws(() => keyGroupForKey({ f: () => 0 }, 128), /key\.f/)
    })

    it('spreads 100k string keys evenly over 128 groups', () => {
      const counts = new Array<number>(128).fill(0)
      const n = 100_000
      for (let i = 0; i < n; i++) counts[keyGroupForKey(`user-${i}`, 128)]++
      const expected = n / 128
      // Chi-square with 127 degrees of freedom: mean 127, standard deviation about 16; 220 is far
      // beyond chance for a good hash.
      const chiSquare = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0)
      assert.ok(chiSquare < 220, `chi-square ${chiSquare.toFixed(1)} for counts ${counts.join(',')}`)
      assert.ok(Math.min(...counts) > expected * 0.85, `smallest group has ${Math.min(...counts)} keys`)
      assert.ok(Math.max(...counts) < expected * 1.15, `largest group has ${Math.max(...counts)} keys`)
    })

    it('spreads sequential numeric keys evenly too', () => {
      const counts = new Array<number>(128).fill(0)
      for (let i = 0; i < 100_000; i++) counts[keyGroupForKey(i, 128)]++
      assert.ok(Math.min(...counts) > 650 && Math.max(...counts) < 910, `range ${Math.min(...counts)}..${Math.max(...counts)}`)
    })
  })

  describe('ranges and operator indexes', () => {
    for (const maxParallelism of [1, 7, 128, 1000]) {
      it(`are inverse and partition [0, ${maxParallelism - 1}] for every parallelism 1..${maxParallelism}`, () => {
        for (let parallelism = 1; parallelism <= maxParallelism; parallelism++) {
          let next = 0
          let smallest = Infinity
          let largest = 0
          for (let index = 0; index < parallelism; index++) {
            const range = keyGroupRangeForSubtask(maxParallelism, parallelism, index)
            // Contiguous, in order, no gap, no overlap.
            assert.equal(range.start, next, `max ${maxParallelism}, parallelism ${parallelism}, subtask ${index}: starts at ${range.start}, expected ${next}`)
            assert.ok(range.size >= 1, `subtask ${index} of ${parallelism} owns no key group`)
            for (const group of range) {
              assert.equal(operatorIndexForKeyGroup(maxParallelism, parallelism, group), index, `group ${group} at ${parallelism}/${maxParallelism}`)
            }
            next = range.end + 1
            smallest = Math.min(smallest, range.size)
            largest = Math.max(largest, range.size)
          }
          assert.equal(next, maxParallelism, `max ${maxParallelism}, parallelism ${parallelism}: ranges end at ${next - 1}`)
          assert.ok(largest - smallest <= 1, `max ${maxParallelism}, parallelism ${parallelism}: sizes ${smallest}..${largest}`)
        }
      })
    }

    it('every key group maps to a subtask in range', () => {
      for (const [maxParallelism, parallelism] of [[128, 3], [1000, 7], [7, 7], [UPPER_BOUND_MAX_PARALLELISM, 5]]) {
        for (let group = 0; group < maxParallelism; group++) {
          const index = operatorIndexForKeyGroup(maxParallelism, parallelism, group)
          assert.ok(index >= 0 && index < parallelism)
          assert.ok(keyGroupRangeForSubtask(maxParallelism, parallelism, index).contains(group))
        }
      }
    })

    it('matches Flink for a few known splits', () => {
      assert.deepEqual(rangesOf(128, 3), [[0, 42], [43, 85], [86, 127]])
      assert.deepEqual(rangesOf(10, 4), [[0, 2], [3, 4], [5, 7], [8, 9]])
      assert.deepEqual(rangesOf(7, 7), [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6]])
      assert.deepEqual(rangesOf(1, 1), [[0, 0]])
    })

    it('rejects a subtask index outside the parallelism', () => {
      assert.throws(() => keyGroupRangeForSubtask(128, 4, 4), isInvalidParallelism)
      assert.throws(() => keyGroupRangeForSubtask(128, 4, -1), isInvalidParallelism)
      assert.throws(() => keyGroupRangeForSubtask(128, 4, 1.5), isInvalidParallelism)
    })
  })

  describe('checkParallelism', () => {
    it('accepts valid settings', () => {
      checkParallelism(1, 1)
      checkParallelism(128, 1)
      checkParallelism(128, 128)
      checkParallelism(UPPER_BOUND_MAX_PARALLELISM, UPPER_BOUND_MAX_PARALLELISM)
    })

    it('rejects a max parallelism that is not an integer from 1 to 32768', () => {
      for (const bad of [0, -1, 1.5, NaN, Infinity, UPPER_BOUND_MAX_PARALLELISM + 1]) {
        assert.throws(
          () => checkParallelism(bad, 1),
          (e: unknown) => isInvalidParallelism(e) && (e as Error).message.includes('Max parallelism') && (e as Error).message.includes(String(bad)),
          `max parallelism ${bad}`,
        )
      }
    })

    it('rejects a parallelism below 1, above the max, or fractional', () => {
      for (const bad of [0, -3, 2.5, NaN, 129]) {
        assert.throws(
          () => checkParallelism(128, bad),
          (e: unknown) => isInvalidParallelism(e) && (e as Error).message.includes('Parallelism') && (e as Error).message.includes(String(bad)),
          `parallelism ${bad}`,
        )
      }
    })

    it('keyGroupRangeForSubtask checks its parallelism', () => {
      assert.throws(() => keyGroupRangeForSubtask(128, 0, 0), isInvalidParallelism)
      assert.throws(() => keyGroupRangeForSubtask(4, 5, 0), isInvalidParallelism)
      assert.throws(() => keyGroupRangeForSubtask(0, 1, 0), isInvalidParallelism)
    })
  })

  describe('KeyGroupRange', () => {
    it('has size, contains, iteration and a readable form', () => {
      const range = new KeyGroupRange(3, 6)
      assert.equal(range.size, 4)
      assert.deepEqual([...range], [3, 4, 5, 6])
      assert.ok(range.contains(3) && range.contains(6))
      assert.ok(!range.contains(2) && !range.contains(7))
      assert.equal(range.toString(), '[3, 6]')
    })

    it('intersects, and a disjoint intersection is empty', () => {
      const a = new KeyGroupRange(0, 9)
      const b = new KeyGroupRange(5, 20)
      const both = a.intersect(b)
      assert.deepEqual([both.start, both.end], [5, 9])
      const none = a.intersect(new KeyGroupRange(10, 12))
      assert.equal(none.size, 0)
      assert.deepEqual([...none], [])
      assert.ok(!none.contains(9) && !none.contains(10))
    })

    it('an old range intersected with new ranges covers it exactly (rescale 3 -> 4)', () => {
      for (let old = 0; old < 3; old++) {
        const oldRange = keyGroupRangeForSubtask(128, 3, old)
        let covered = 0
        for (let index = 0; index < 4; index++) covered += oldRange.intersect(keyGroupRangeForSubtask(128, 4, index)).size
        assert.equal(covered, oldRange.size)
      }
    })
  })
})

function rangesOf(maxParallelism: number, parallelism: number): [number, number][] {
  return Array.from({ length: parallelism }, (_, i) => {
    const r = keyGroupRangeForSubtask(maxParallelism, parallelism, i)
    return [r.start, r.end]
  })
}
