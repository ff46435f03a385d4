import { murmur3_32 } from './murmur3.ts'
import { scratchKeyBuffer, writeKeyToScratch } from './key-serialization.ts'
import { WeirError } from '../errors.ts'

/** Max parallelism when the job does not set one: the number of key groups. */
export const DEFAULT_MAX_PARALLELISM = 128

/** The largest max parallelism: key groups are stored in two bytes. */
export const UPPER_BOUND_MAX_PARALLELISM = 1 << 15

/** A contiguous, inclusive range of key groups: the unit keyed state is split by. */
export class KeyGroupRange {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  /** Number of key groups in the range (0 when empty). */
  get size(): number {
    return Math.max(0, this.end - this.start + 1)
  }

  contains(keyGroup: number): boolean {
    return keyGroup >= this.start && keyGroup <= this.end
  }

  /** The key groups both ranges hold. */
  intersect(other: KeyGroupRange): KeyGroupRange {
    return new KeyGroupRange(Math.max(this.start, other.start), Math.min(this.end, other.end))
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let g = this.start; g <= this.end; g++) yield g
  }

  toString(): string {
    return `[${this.start}, ${this.end}]`
  }
}

// Key groups of recent string and number keys, per max parallelism: a Map lookup is several times
// cheaper than serializing and hashing, and keyed streams see the same keys again and again (each
// record is hashed by the partitioner and again by the keyed operator). Key groups are small
// integers, which V8 stores unboxed; the 32-bit hashes would not be.
const groupCaches = new Map<number, Map<string | number, number>>()
let lastMaxParallelism = -1
let lastCache = new Map<string | number, number>()
const CACHE_LIMIT = 1 << 16

function cacheFor(maxParallelism: number): Map<string | number, number> {
  if (maxParallelism !== lastMaxParallelism) {
    let cache = groupCaches.get(maxParallelism)
    if (!cache) groupCaches.set(maxParallelism, (cache = new Map()))
    lastMaxParallelism = maxParallelism
    lastCache = cache
  }
  return lastCache
}

/** The key group of a key: murmur3 of its canonical bytes, modulo max parallelism. */
export function keyGroupForKey(key: unknown, maxParallelism: number): number {
  if (typeof key === 'string' || typeof key === 'number') {
    const cache = cacheFor(maxParallelism)
    let group = cache.get(key)
    if (group === undefined) {
      const length = writeKeyToScratch(key)
      group = murmur3_32(scratchKeyBuffer(), 0, length) % maxParallelism
      if (cache.size >= CACHE_LIMIT) cache.clear()
      cache.set(key, group)
    }
    return group
  }
  const length = writeKeyToScratch(key)
  return murmur3_32(scratchKeyBuffer(), 0, length) % maxParallelism
}

/** The subtask that owns a key group at the given parallelism. */
export function operatorIndexForKeyGroup(maxParallelism: number, parallelism: number, keyGroup: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism)
}

/** The key groups subtask `index` owns at `parallelism`: the inverse of `operatorIndexForKeyGroup`. */
export function keyGroupRangeForSubtask(maxParallelism: number, parallelism: number, index: number): KeyGroupRange {
  checkParallelism(maxParallelism, parallelism)
  // An index past the last subtask would yield a range outside [0, maxParallelism - 1].
  if (!Number.isInteger(index) || index < 0 || index >= parallelism) {
    throw new WeirError('INVALID_PARALLELISM', `Subtask index must be an integer from 0 to ${parallelism - 1}, got ${index}`)
  }
  const start = Math.ceil((index * maxParallelism) / parallelism)
  const end = Math.ceil(((index + 1) * maxParallelism) / parallelism) - 1
  return new KeyGroupRange(start, end)
}

/** Refuses parallelism settings that cannot split the key groups. */
export function checkParallelism(maxParallelism: number, parallelism: number): void {
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
    throw new WeirError('INVALID_PARALLELISM', `Max parallelism must be an integer from 1 to ${UPPER_BOUND_MAX_PARALLELISM}, got ${maxParallelism}`)
  }
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > maxParallelism) {
    throw new WeirError('INVALID_PARALLELISM', `Parallelism must be an integer from 1 to the max parallelism ${maxParallelism}, got ${parallelism}`)
  }
}
