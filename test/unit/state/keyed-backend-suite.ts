/**
 * Behaviour every `KeyedStateBackend` must have, written once and run against each backend: a test
 * file calls these functions with a factory for its backend.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isDeepStrictEqual } from 'node:util'
import type { TypeSerializer } from '../../../src/api/serialization/type-serializer.ts'
import { internalPackr, Types } from '../../../src/api/serialization/types.ts'
import { StateError, WeirError } from '../../../src/errors.ts'
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../../../src/state/descriptors.ts'
import { KeyGroupRange, keyGroupForKey, keyGroupRangeForSubtask, operatorIndexForKeyGroup } from '../../../src/state/key-groups.ts'
import { VOID_NAMESPACE, type KeyedStateBackend, type PendingKeyedSnapshot } from '../../../src/state/keyed-state-backend.ts'
import { keyIdentity, serializeKey, type Key } from '../../../src/state/key-serialization.ts'
import type { KeyedStateSnapshot } from '../../../src/state/snapshot.ts'
import type { AggregateFunction } from '../../../src/state/state.ts'
import { ManualTimeProvider, type StateTtlConfig, type TtlTimeProvider } from '../../../src/state/ttl.ts'

/** What a backend factory is given. */
export interface KeyedBackendFactoryOptions {
  maxParallelism: number
  keyGroupRange: KeyGroupRange
  timeProvider: TtlTimeProvider
}

/** Creates the backend under test. */
export type KeyedBackendFactory = (options: KeyedBackendFactoryOptions) => KeyedStateBackend

const MAX_PARALLELISM = 128
const T0 = 1_000

/** A time window as the window operator's namespace: a plain object. */
export interface TestWindow {
  start: number
  end: number
}

/** Namespace serializer of `TestWindow`, as a window operator would pass it. */
export const windowSerializer: TypeSerializer<TestWindow> = {
  id: 'test-window',
  version: 1,
  serialize(window) {
    const out = new Uint8Array(16)
    const view = new DataView(out.buffer)
    view.setFloat64(0, window.start)
    view.setFloat64(8, window.end)
    return out
  },
  deserialize(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return { start: view.getFloat64(0), end: view.getFloat64(8) }
  },
}

/** A window as a class instance, which is not a valid stream key. */
class ClassWindow {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}
}

const classWindowSerializer: TypeSerializer<ClassWindow> = {
  id: 'test-class-window',
  version: 1,
  serialize: (window) => windowSerializer.serialize(window),
  deserialize(bytes) {
    const { start, end } = windowSerializer.deserialize(bytes)
    return new ClassWindow(start, end)
  },
}

function win(start: number): TestWindow {
  return { start, end: start + 10 }
}

interface Average {
  sum: number
  count: number
}

const average: AggregateFunction<number, Average, number> = {
  createAccumulator: () => ({ sum: 0, count: 0 }),
  add: (value, acc) => ({ sum: acc.sum + value, count: acc.count + 1 }),
  getResult: (acc) => acc.sum / acc.count,
  merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
}

const sum = (a: number, b: number): number => a + b

function newBackend(factory: KeyedBackendFactory, clock: TtlTimeProvider = new ManualTimeProvider(T0), range = new KeyGroupRange(0, MAX_PARALLELISM - 1)): KeyedStateBackend {
  return factory({ maxParallelism: MAX_PARALLELISM, keyGroupRange: range, timeProvider: clock })
}

/** Runs a test body on a fresh full-range backend and disposes it, also when the body fails. */
function withBackend(factory: KeyedBackendFactory, body: (backend: KeyedStateBackend, clock: ManualTimeProvider) => void): void {
  const clock = new ManualTimeProvider(T0)
  const backend = newBackend(factory, clock)
  try {
    body(backend, clock)
  } finally {
    backend.dispose()
  }
}

function isStateError(name: string): (error: unknown) => boolean {
  return (error) => error instanceof StateError && error.message.includes(`'${name}'`)
}

/** The whole suite. */
export function keyedBackendSuite(factory: KeyedBackendFactory): void {
  valueStateTests(factory)
  listStateTests(factory)
  mapStateTests(factory)
  reducingAggregatingTests(factory)
  ttlTests(factory)
  namespaceTests(factory)
  backendTests(factory)
  snapshotRestoreTests(factory)
  asyncSnapshotTests(factory)
}

/** Value state: defaults, updates, clear, keys. */
export function valueStateTests(factory: KeyedBackendFactory): void {
  describe('value state', () => {
    it('returns undefined, or the descriptor default, when the key has no value', () => {
      withBackend(factory, (backend) => {
        const plain = backend.getValueState(new ValueStateDescriptor<number>('plain', Types.number))
        const withDefault = backend.getValueState(new ValueStateDescriptor<number>('withDefault', Types.number, 42))
        backend.setCurrentKey('a')
        assert.equal(plain.value(), undefined)
        assert.equal(withDefault.value(), 42)
        withDefault.update(7)
        assert.equal(withDefault.value(), 7)
        withDefault.clear()
        assert.equal(withDefault.value(), 42)
      })
    })

    it('keeps one value per key', () => {
      withBackend(factory, (backend) => {
        const count = backend.getValueState(new ValueStateDescriptor<number>('count', Types.number))
        const words = ['a', 'b', 'a', 'c', 'a', 'b']
        for (const word of words) {
          backend.setCurrentKey(word)
          count.update((count.value() ?? 0) + 1)
        }
        const counts: Record<string, number | undefined> = {}
        for (const word of ['a', 'b', 'c', 'd']) {
          backend.setCurrentKey(word)
          counts[word] = count.value()
        }
        assert.deepEqual(counts, { a: 3, b: 2, c: 1, d: undefined })
        assert.equal(backend.numEntries(), 3)
      })
    })

    it('removes the value on update(undefined) and clear()', () => {
      withBackend(factory, (backend) => {
        const state = backend.getValueState(new ValueStateDescriptor<string>('s'))
        backend.setCurrentKey(1)
        state.update('x')
        backend.setCurrentKey(2)
        state.update('y')
        assert.equal(backend.numEntries(), 2)
        state.update(undefined)
        assert.equal(state.value(), undefined)
        backend.setCurrentKey(1)
        state.clear()
        assert.equal(state.value(), undefined)
        assert.equal(backend.numEntries(), 0)
        state.clear()
        assert.equal(backend.numEntries(), 0)
      })
    })

    it('keeps structured values', () => {
      withBackend(factory, (backend) => {
        const state = backend.getValueState(new ValueStateDescriptor<{ n: number; tags: string[] }>('obj'))
        backend.setCurrentKey('k')
        state.update({ n: 1, tags: ['a', 'b'] })
        assert.deepEqual(state.value(), { n: 1, tags: ['a', 'b'] })
      })
    })

    it('treats equal composite keys as the same key, whatever the field order', () => {
      withBackend(factory, (backend) => {
        const state = backend.getValueState(new ValueStateDescriptor<number>('n', Types.number))
        backend.setCurrentKey({ user: 'u1', region: 'eu' })
        state.update(5)
        backend.setCurrentKey({ region: 'eu', user: 'u1' })
        assert.equal(state.value(), 5)
        backend.setCurrentKey(['x', 1])
        state.update(6)
        backend.setCurrentKey(['x', 1])
        assert.equal(state.value(), 6)
        backend.setCurrentKey(['x', 2])
        assert.equal(state.value(), undefined)
        assert.equal(backend.numEntries(), 2)
      })
    })

    it('reports the current key and its key group', () => {
      withBackend(factory, (backend) => {
        for (const key of ['a', 17, { id: 3 }, 5n, true]) {
          backend.setCurrentKey(key)
          assert.deepEqual(backend.getCurrentKey(), key)
          assert.equal(backend.getCurrentKeyGroup(), keyGroupForKey(key, MAX_PARALLELISM))
        }
      })
    })

    it('returns the same state object for the same name', () => {
      withBackend(factory, (backend) => {
        const first = backend.getValueState(new ValueStateDescriptor<number>('same', Types.number))
        const second = backend.getValueState(new ValueStateDescriptor<number>('same', Types.number))
        assert.equal(first, second)
      })
    })
  })
}

/** List state: append, replace, copies, clear. */
export function listStateTests(factory: KeyedBackendFactory): void {
  describe('list state', () => {
    it('is empty when the key has no list, and appends in order', () => {
      withBackend(factory, (backend) => {
        const list = backend.getListState(new ListStateDescriptor<number>('list', Types.number))
        backend.setCurrentKey('a')
        assert.deepEqual(list.get(), [])
        list.add(1)
        list.add(2)
        list.addAll([3, 4])
        assert.deepEqual(list.get(), [1, 2, 3, 4])
        backend.setCurrentKey('b')
        assert.deepEqual(list.get(), [])
        list.addAll(new Set([9]))
        assert.deepEqual(list.get(), [9])
        assert.equal(backend.numEntries(), 2)
      })
    })

    it('returns a copy', () => {
      withBackend(factory, (backend) => {
        const list = backend.getListState(new ListStateDescriptor<number>('list', Types.number))
        backend.setCurrentKey('a')
        list.add(1)
        const got = list.get()
        got.push(99)
        assert.deepEqual(list.get(), [1])
        list.add(2)
        assert.deepEqual(got, [1, 99])
      })
    })

    it('replaces the list on update, and clears it with an empty update or clear()', () => {
      withBackend(factory, (backend) => {
        const list = backend.getListState(new ListStateDescriptor<string>('list'))
        backend.setCurrentKey('a')
        list.addAll(['x', 'y'])
        list.update(['z'])
        assert.deepEqual(list.get(), ['z'])
        list.update([])
        assert.deepEqual(list.get(), [])
        assert.equal(backend.numEntries(), 0)
        list.addAll([])
        assert.equal(backend.numEntries(), 0)
        list.add('w')
        list.clear()
        assert.deepEqual(list.get(), [])
        assert.equal(backend.numEntries(), 0)
      })
    })

    it('refuses undefined elements', () => {
      withBackend(factory, (backend) => {
        const list = backend.getListState(new ListStateDescriptor<number | undefined>('list'))
        backend.setCurrentKey('a')
        assert.throws(() => list.add(undefined), isStateError('list'))
        assert.throws(() => list.addAll([1, undefined]), isStateError('list'))
        assert.throws(() => list.update([undefined]), isStateError('list'))
        assert.deepEqual(list.get(), [])
      })
    })
  })
}

/** Map state: user-key lookup by identity, iteration, removal. */
export function mapStateTests(factory: KeyedBackendFactory): void {
  describe('map state', () => {
    it('puts, gets, removes and tells whether it holds a user key', () => {
      withBackend(factory, (backend) => {
        const map = backend.getMapState(new MapStateDescriptor<string, number>('map', Types.string, Types.number))
        backend.setCurrentKey('k')
        assert.equal(map.get('a'), undefined)
        assert.equal(map.contains('a'), false)
        assert.equal(map.isEmpty(), true)
        map.put('a', 1)
        map.put('b', 2)
        map.put('a', 3)
        assert.equal(map.get('a'), 3)
        assert.equal(map.contains('b'), true)
        map.remove('b')
        map.remove('nothing')
        assert.equal(map.contains('b'), false)
        assert.deepEqual([...map.entries()], [['a', 3]])
        backend.setCurrentKey('other')
        assert.equal(map.get('a'), undefined)
      })
    })

    it('iterates entries, keys and values, and puts all', () => {
      withBackend(factory, (backend) => {
        const map = backend.getMapState(new MapStateDescriptor<string, number>('map'))
        backend.setCurrentKey('k')
        map.putAll([
          ['x', 1],
          ['y', 2],
          ['z', 3],
        ])
        const byKey = (a: [string, number], b: [string, number]): number => a[0].localeCompare(b[0])
        assert.deepEqual([...map.entries()].sort(byKey), [
          ['x', 1],
          ['y', 2],
          ['z', 3],
        ])
        assert.deepEqual([...map.keys()].sort(), ['x', 'y', 'z'])
        assert.deepEqual([...map.values()].sort(), [1, 2, 3])
        assert.equal(map.isEmpty(), false)
      })
    })

    it('finds composite user keys by value and keeps the original key object', () => {
      withBackend(factory, (backend) => {
        const map = backend.getMapState(new MapStateDescriptor<{ a: number; b: string }, string>('map'))
        backend.setCurrentKey('k')
        map.put({ a: 1, b: 'x' }, 'first')
        assert.equal(map.get({ b: 'x', a: 1 } as { a: number; b: string }), 'first')
        assert.equal(map.contains({ a: 1, b: 'y' }), false)
        assert.deepEqual([...map.keys()], [{ a: 1, b: 'x' }])
        map.put({ b: 'x', a: 1 } as { a: number; b: string }, 'second')
        assert.deepEqual([...map.values()], ['second'])
      })
    })

    it('has no entry once its last user key is removed or it is cleared', () => {
      withBackend(factory, (backend) => {
        const map = backend.getMapState(new MapStateDescriptor<number, number>('map', Types.number, Types.number))
        backend.setCurrentKey('k')
        map.put(1, 1)
        assert.equal(backend.numEntries(), 1)
        map.remove(1)
        assert.equal(map.isEmpty(), true)
        assert.equal(backend.numEntries(), 0)
        assert.deepEqual([...backend.getKeys('map', VOID_NAMESPACE)], [])
        map.put(2, 2)
        map.put(3, 3)
        map.clear()
        assert.equal(map.isEmpty(), true)
        assert.deepEqual([...map.entries()], [])
        assert.equal(backend.numEntries(), 0)
      })
    })
  })
}

/** Reducing and aggregating state. */
export function reducingAggregatingTests(factory: KeyedBackendFactory): void {
  describe('reducing state', () => {
    it('folds added values with the reduce function', () => {
      withBackend(factory, (backend) => {
        const total = backend.getReducingState(new ReducingStateDescriptor<number>('total', sum, Types.number))
        backend.setCurrentKey('a')
        assert.equal(total.get(), undefined)
        total.add(1)
        total.add(2)
        total.add(3)
        assert.equal(total.get(), 6)
        backend.setCurrentKey('b')
        assert.equal(total.get(), undefined)
        total.add(10)
        assert.equal(total.get(), 10)
        backend.setCurrentKey('a')
        total.clear()
        assert.equal(total.get(), undefined)
        assert.equal(backend.numEntries(), 1)
      })
    })

    it('keeps the order of reduce arguments (accumulated, new)', () => {
      withBackend(factory, (backend) => {
        const joined = backend.getReducingState(new ReducingStateDescriptor<string>('joined', (a, b) => `${a}${b}`))
        backend.setCurrentKey('a')
        for (const s of ['x', 'y', 'z']) joined.add(s)
        assert.equal(joined.get(), 'xyz')
      })
    })
  })

  describe('aggregating state', () => {
    it('adds values to an accumulator and returns its result', () => {
      withBackend(factory, (backend) => {
        const avg = backend.getAggregatingState(new AggregatingStateDescriptor('avg', average))
        backend.setCurrentKey('a')
        assert.equal(avg.get(), undefined)
        avg.add(1)
        avg.add(2)
        avg.add(6)
        assert.equal(avg.get(), 3)
        backend.setCurrentKey('b')
        assert.equal(avg.get(), undefined)
        backend.setCurrentKey('a')
        avg.clear()
        assert.equal(avg.get(), undefined)
        assert.equal(backend.numEntries(), 0)
      })
    })

    it('works with an aggregate function that mutates its accumulator', () => {
      withBackend(factory, (backend) => {
        const mutating: AggregateFunction<number, number[], number> = {
          createAccumulator: () => [],
          add: (value, acc) => {
            acc.push(value)
            return acc
          },
          getResult: (acc) => acc.length,
          merge: (a, b) => a.concat(b),
        }
        const count = backend.getAggregatingState(new AggregatingStateDescriptor('count', mutating))
        backend.setCurrentKey('a')
        count.add(5)
        count.add(6)
        assert.equal(count.get(), 2)
        backend.setCurrentKey('b')
        count.add(7)
        assert.equal(count.get(), 1)
      })
    })
  })
}

/** Time to live, per value, list element and map entry, with a manual clock. */
export function ttlTests(factory: KeyedBackendFactory): void {
  const ttl = (config: Partial<StateTtlConfig> = {}): StateTtlConfig => ({ ttlMs: 100, ...config })

  describe('state TTL', () => {
    it('value: expires ttlMs after the write and is never returned after that by default', () => {
      withBackend(factory, (backend, clock) => {
        const state = backend.getValueState(new ValueStateDescriptor<string>('v', Types.string, 'default').enableTimeToLive(ttl()))
        backend.setCurrentKey('k')
        state.update('x')
        clock.advance(99)
        assert.equal(state.value(), 'x')
        clock.advance(1)
        assert.equal(state.value(), 'default')
        assert.equal(backend.numEntries(), 0)
      })
    })

    it("value: 'onCreateAndWrite' restarts the clock on writes only", () => {
      withBackend(factory, (backend, clock) => {
        const state = backend.getValueState(new ValueStateDescriptor<number>('v', Types.number).enableTimeToLive(ttl({ updateType: 'onCreateAndWrite' })))
        backend.setCurrentKey('k')
        state.update(1)
        clock.advance(60)
        assert.equal(state.value(), 1)
        clock.advance(40)
        assert.equal(state.value(), undefined)
        state.update(2)
        clock.advance(60)
        state.update(3)
        clock.advance(60)
        assert.equal(state.value(), 3)
      })
    })

    it("value: 'onReadAndWrite' restarts the clock on reads too", () => {
      withBackend(factory, (backend, clock) => {
        const state = backend.getValueState(new ValueStateDescriptor<number>('v', Types.number).enableTimeToLive(ttl({ updateType: 'onReadAndWrite' })))
        backend.setCurrentKey('k')
        state.update(1)
        clock.advance(60)
        assert.equal(state.value(), 1)
        clock.advance(90)
        assert.equal(state.value(), 1)
        clock.advance(100)
        assert.equal(state.value(), undefined)
      })
    })

    it("value: 'returnExpiredIfNotCleanedUp' returns an expired value until it is cleaned up", () => {
      withBackend(factory, (backend, clock) => {
        const state = backend.getValueState(new ValueStateDescriptor<number>('v', Types.number).enableTimeToLive(ttl({ visibility: 'returnExpiredIfNotCleanedUp' })))
        backend.setCurrentKey('k')
        state.update(1)
        clock.advance(500)
        assert.equal(state.value(), 1)
        assert.equal(state.value(), undefined)
      })
    })

    it('list: each element expires on its own', () => {
      withBackend(factory, (backend, clock) => {
        const list = backend.getListState(new ListStateDescriptor<number>('l', Types.number).enableTimeToLive(ttl()))
        backend.setCurrentKey('k')
        list.add(1)
        clock.advance(50)
        list.addAll([2, 3])
        assert.deepEqual(list.get(), [1, 2, 3])
        clock.advance(50)
        assert.deepEqual(list.get(), [2, 3])
        list.add(4)
        clock.advance(50)
        assert.deepEqual(list.get(), [4])
        clock.advance(50)
        assert.deepEqual(list.get(), [])
        assert.equal(backend.numEntries(), 0)
        list.update([5, 6])
        clock.advance(99)
        assert.deepEqual(list.get(), [5, 6])
      })
    })

    it("list: 'onReadAndWrite' refreshes the elements read; 'returnExpiredIfNotCleanedUp' shows expired ones once", () => {
      withBackend(factory, (backend, clock) => {
        const touched = backend.getListState(new ListStateDescriptor<number>('touched', Types.number).enableTimeToLive(ttl({ updateType: 'onReadAndWrite' })))
        const lenient = backend.getListState(new ListStateDescriptor<number>('lenient', Types.number).enableTimeToLive(ttl({ visibility: 'returnExpiredIfNotCleanedUp' })))
        backend.setCurrentKey('k')
        touched.add(1)
        lenient.add(1)
        clock.advance(50)
        lenient.add(2)
        clock.advance(40)
        assert.deepEqual(touched.get(), [1])
        clock.advance(30)
        assert.deepEqual(lenient.get(), [1, 2])
        assert.deepEqual(lenient.get(), [2])
        clock.advance(60)
        assert.deepEqual(touched.get(), [1])
        clock.advance(100)
        assert.deepEqual(touched.get(), [])
      })
    })

    it('map: each entry expires on its own', () => {
      withBackend(factory, (backend, clock) => {
        const map = backend.getMapState(new MapStateDescriptor<string, number>('m', Types.string, Types.number).enableTimeToLive(ttl()))
        backend.setCurrentKey('k')
        map.put('a', 1)
        clock.advance(50)
        map.put('b', 2)
        clock.advance(50)
        assert.equal(map.get('a'), undefined)
        assert.equal(map.contains('a'), false)
        assert.equal(map.get('b'), 2)
        assert.deepEqual([...map.entries()], [['b', 2]])
        assert.deepEqual([...map.keys()], ['b'])
        assert.deepEqual([...map.values()], [2])
        assert.equal(map.isEmpty(), false)
        map.put('a', 3)
        clock.advance(50)
        assert.equal(map.isEmpty(), false)
        assert.deepEqual([...map.entries()], [['a', 3]])
        clock.advance(50)
        assert.equal(map.isEmpty(), true)
        assert.equal(backend.numEntries(), 0)
      })
    })

    it("map: 'onReadAndWrite' refreshes the entries read; 'returnExpiredIfNotCleanedUp' returns expired ones once", () => {
      withBackend(factory, (backend, clock) => {
        const touched = backend.getMapState(new MapStateDescriptor<string, number>('touched').enableTimeToLive(ttl({ updateType: 'onReadAndWrite' })))
        const lenient = backend.getMapState(new MapStateDescriptor<string, number>('lenient').enableTimeToLive(ttl({ visibility: 'returnExpiredIfNotCleanedUp' })))
        backend.setCurrentKey('k')
        touched.put('a', 1)
        touched.put('b', 2)
        lenient.put('a', 1)
        clock.advance(90)
        assert.equal(touched.get('a'), 1)
        clock.advance(90)
        assert.equal(touched.get('a'), 1)
        assert.equal(touched.get('b'), undefined)
        assert.equal(lenient.get('a'), 1)
        assert.equal(lenient.get('a'), undefined)
        clock.advance(10)
        assert.deepEqual([...touched.keys()], ['a'])
        clock.advance(99)
        assert.deepEqual([...touched.keys()], ['a'])
        clock.advance(100)
        assert.deepEqual([...touched.keys()], [])
      })
    })

    it('reducing: the reduced value expires as a whole, and each add restarts its clock', () => {
      withBackend(factory, (backend, clock) => {
        const total = backend.getReducingState(new ReducingStateDescriptor<number>('r', sum, Types.number).enableTimeToLive(ttl()))
        backend.setCurrentKey('k')
        total.add(1)
        clock.advance(60)
        total.add(2)
        clock.advance(60)
        assert.equal(total.get(), 3)
        clock.advance(40)
        assert.equal(total.get(), undefined)
        total.add(5)
        assert.equal(total.get(), 5)
        clock.advance(100)
        total.add(1)
        assert.equal(total.get(), 1)
      })
    })

    it("reducing and aggregating: 'onReadAndWrite' refreshes on get; 'returnExpiredIfNotCleanedUp' returns expired once", () => {
      withBackend(factory, (backend, clock) => {
        const total = backend.getReducingState(new ReducingStateDescriptor<number>('r', sum, Types.number).enableTimeToLive(ttl({ updateType: 'onReadAndWrite' })))
        const avg = backend.getAggregatingState(new AggregatingStateDescriptor('a', average).enableTimeToLive(ttl({ visibility: 'returnExpiredIfNotCleanedUp' })))
        backend.setCurrentKey('k')
        total.add(1)
        avg.add(4)
        clock.advance(90)
        assert.equal(total.get(), 1)
        clock.advance(90)
        assert.equal(total.get(), 1)
        assert.equal(avg.get(), 4)
        assert.equal(avg.get(), undefined)
        clock.advance(100)
        assert.equal(total.get(), undefined)
      })
    })

    it('aggregating: an expired accumulator is not added to', () => {
      withBackend(factory, (backend, clock) => {
        const avg = backend.getAggregatingState(new AggregatingStateDescriptor('a', average).enableTimeToLive(ttl()))
        backend.setCurrentKey('k')
        avg.add(10)
        avg.add(20)
        clock.advance(99)
        assert.equal(avg.get(), 15)
        clock.advance(1)
        assert.equal(avg.get(), undefined)
        avg.add(1)
        clock.advance(50)
        avg.add(3)
        clock.advance(99)
        assert.equal(avg.get(), 2)
      })
    })

    it('drops expired entries from snapshots unless cleanupInSnapshot is false', () => {
      const clock = new ManualTimeProvider(T0)
      const source = newBackend(factory, clock)
      const cleaned = new ValueStateDescriptor<number>('cleaned', Types.number).enableTimeToLive(ttl())
      const kept = new ValueStateDescriptor<number>('kept', Types.number).enableTimeToLive(ttl({ cleanupInSnapshot: false, visibility: 'returnExpiredIfNotCleanedUp' }))
      const cleanedList = new ListStateDescriptor<number>('cleanedList', Types.number).enableTimeToLive(ttl())
      const cleanedMap = new MapStateDescriptor<string, number>('cleanedMap', Types.string, Types.number).enableTimeToLive(ttl())
      const a = source.getValueState(cleaned)
      const b = source.getValueState(kept)
      const l = source.getListState(cleanedList)
      const m = source.getMapState(cleanedMap)
      source.setCurrentKey('k')
      a.update(1)
      b.update(2)
      l.add(1)
      m.put('old', 1)
      clock.advance(50)
      l.add(2)
      m.put('new', 2)
      clock.advance(50)
      const snapshot = source.snapshot()
      source.dispose()

      const target = newBackend(factory, clock)
      target.restore([snapshot])
      const a2 = target.getValueState(cleaned)
      const b2 = target.getValueState(kept)
      const l2 = target.getListState(cleanedList)
      const m2 = target.getMapState(cleanedMap)
      assert.equal(target.numEntries(), 3)
      target.setCurrentKey('k')
      assert.equal(a2.value(), undefined)
      assert.equal(b2.value(), 2)
      assert.deepEqual(l2.get(), [2])
      assert.deepEqual([...m2.keys()], ['new'])
      target.dispose()
    })

    it('keeps expiry times across snapshot and restore', () => {
      const clock = new ManualTimeProvider(T0)
      const descriptor = new ValueStateDescriptor<number>('v', Types.number).enableTimeToLive(ttl())
      const source = newBackend(factory, clock)
      const state = source.getValueState(descriptor)
      source.setCurrentKey('k')
      state.update(1)
      const snapshot = source.snapshot()
      source.dispose()
      clock.advance(60)
      const target = newBackend(factory, clock)
      target.restore([snapshot])
      const restored = target.getValueState(descriptor)
      target.setCurrentKey('k')
      assert.equal(restored.value(), 1)
      clock.advance(40)
      assert.equal(restored.value(), undefined)
      target.dispose()
    })
  })
}

/** Namespaces (windows) and merging them (session windows). */
export function namespaceTests(factory: KeyedBackendFactory): void {
  describe('namespaces', () => {
    it('keeps one value per key and namespace', () => {
      withBackend(factory, (backend) => {
        const state = backend.getValueState(new ValueStateDescriptor<string>('v', Types.string), windowSerializer)
        backend.setCurrentKey('k')
        state.setCurrentNamespace(win(0))
        state.update('first')
        state.setCurrentNamespace(win(10))
        assert.equal(state.value(), undefined)
        state.update('second')
        state.setCurrentNamespace({ end: 10, start: 0 })
        assert.equal(state.value(), 'first')
        backend.setCurrentKey('other')
        assert.equal(state.value(), undefined)
        state.update('third')
        assert.equal(backend.numEntries(), 3)
        assert.deepEqual([...backend.getKeys('v', win(0))].sort(), ['k', 'other'])
        assert.deepEqual([...backend.getKeys('v', win(10))], ['k'])
        assert.deepEqual([...backend.getKeys('v', win(20))], [])
      })
    })

    it('keeps every state kind apart per namespace', () => {
      withBackend(factory, (backend) => {
        const list = backend.getListState(new ListStateDescriptor<number>('l', Types.number), windowSerializer)
        const map = backend.getMapState(new MapStateDescriptor<string, number>('m'), windowSerializer)
        const total = backend.getReducingState(new ReducingStateDescriptor<number>('r', sum), windowSerializer)
        const avg = backend.getAggregatingState(new AggregatingStateDescriptor('a', average), windowSerializer)
        backend.setCurrentKey('k')
        for (const start of [0, 10]) {
          for (const state of [list, map, total, avg]) state.setCurrentNamespace(win(start))
          list.add(start)
          map.put('x', start)
          total.add(start + 1)
          avg.add(start + 2)
        }
        for (const start of [0, 10]) {
          for (const state of [list, map, total, avg]) state.setCurrentNamespace(win(start))
          assert.deepEqual(list.get(), [start])
          assert.equal(map.get('x'), start)
          assert.equal(total.get(), start + 1)
          assert.equal(avg.get(), start + 2)
        }
        map.clear()
        assert.equal(backend.numEntries(), 7)
      })
    })

    it('refuses a namespace on a state created without a namespace serializer', () => {
      withBackend(factory, (backend) => {
        const state = backend.getListState(new ListStateDescriptor<number>('plain'))
        assert.throws(() => state.setCurrentNamespace(win(0) as never), isStateError('plain'))
      })
    })

    it('merges list namespaces into the target and removes the sources', () => {
      withBackend(factory, (backend) => {
        const list = backend.getListState(new ListStateDescriptor<number>('l', Types.number), windowSerializer)
        backend.setCurrentKey('k')
        const fill = (window: TestWindow, values: number[]): void => {
          list.setCurrentNamespace(window)
          list.addAll(values)
        }
        fill(win(0), [1, 2])
        fill(win(10), [3])
        fill(win(20), [4, 5])
        list.mergeNamespaces(win(0), [win(10), win(20), win(30)])
        list.setCurrentNamespace(win(0))
        assert.deepEqual(list.get(), [1, 2, 3, 4, 5])
        for (const start of [10, 20, 30]) {
          list.setCurrentNamespace(win(start))
          assert.deepEqual(list.get(), [])
        }
        assert.equal(backend.numEntries(), 1)

        fill(win(40), [6])
        list.mergeNamespaces(win(50), [win(40)])
        list.setCurrentNamespace(win(50))
        assert.deepEqual(list.get(), [6])
        list.mergeNamespaces(win(60), [])
        list.mergeNamespaces(win(60), [win(70)])
        list.setCurrentNamespace(win(60))
        assert.deepEqual(list.get(), [])
        assert.equal(backend.numEntries(), 2)
      })
    })

    it('merges reducing and aggregating namespaces, also when the target is among the sources', () => {
      withBackend(factory, (backend) => {
        const total = backend.getReducingState(new ReducingStateDescriptor<number>('r', sum, Types.number), windowSerializer)
        const avg = backend.getAggregatingState(new AggregatingStateDescriptor('a', average), windowSerializer)
        backend.setCurrentKey('k')
        const values: [number, number[]][] = [
          [0, [1, 2]],
          [10, [3]],
          [20, [10, 20]],
        ]
        for (const [start, xs] of values) {
          total.setCurrentNamespace(win(start))
          avg.setCurrentNamespace(win(start))
          for (const x of xs) {
            total.add(x)
            avg.add(x)
          }
        }
        total.mergeNamespaces(win(0), [win(10), win(20)])
        avg.mergeNamespaces(win(10), [win(0), win(10), win(20)])
        total.setCurrentNamespace(win(0))
        assert.equal(total.get(), 36)
        avg.setCurrentNamespace(win(10))
        assert.equal(avg.get(), 36 / 5)
        total.setCurrentNamespace(win(10))
        avg.setCurrentNamespace(win(0))
        assert.equal(total.get(), undefined)
        assert.equal(avg.get(), undefined)
        assert.equal(backend.numEntries(), 2)
      })
    })

    it('does not merge expired values', () => {
      withBackend(factory, (backend, clock) => {
        const total = backend.getReducingState(new ReducingStateDescriptor<number>('r', sum, Types.number).enableTimeToLive({ ttlMs: 100 }), windowSerializer)
        const list = backend.getListState(new ListStateDescriptor<number>('l', Types.number).enableTimeToLive({ ttlMs: 100 }), windowSerializer)
        backend.setCurrentKey('k')
        total.setCurrentNamespace(win(0))
        list.setCurrentNamespace(win(0))
        total.add(1)
        list.add(1)
        clock.advance(60)
        total.setCurrentNamespace(win(10))
        list.setCurrentNamespace(win(10))
        total.add(2)
        list.add(2)
        clock.advance(60)
        total.mergeNamespaces(win(20), [win(0), win(10)])
        list.mergeNamespaces(win(20), [win(0), win(10)])
        total.setCurrentNamespace(win(20))
        list.setCurrentNamespace(win(20))
        assert.equal(total.get(), 2)
        assert.deepEqual(list.get(), [2])
      })
    })

    it('takes class instances as namespaces; equal windows are the same namespace', () => {
      withBackend(factory, (backend) => {
        const descriptor = new ListStateDescriptor<number>('l', Types.number)
        const list = backend.getListState(descriptor, classWindowSerializer)
        backend.setCurrentKey('k')
        list.setCurrentNamespace(new ClassWindow(0, 10))
        list.add(1)
        list.setCurrentNamespace(new ClassWindow(0, 10))
        list.add(2)
        list.setCurrentNamespace(new ClassWindow(10, 20))
        list.add(3)
        list.mergeNamespaces(new ClassWindow(0, 20), [new ClassWindow(0, 10), new ClassWindow(10, 20)])
        list.setCurrentNamespace(new ClassWindow(0, 20))
        assert.deepEqual(list.get(), [1, 2, 3])
        assert.deepEqual([...backend.getKeys('l', new ClassWindow(0, 20))], ['k'])

        const target = newBackend(factory)
        target.restore([backend.snapshot()])
        const restored = target.getListState(descriptor, classWindowSerializer)
        target.setCurrentKey('k')
        restored.setCurrentNamespace(new ClassWindow(0, 20))
        assert.deepEqual(restored.get(), [1, 2, 3])
        target.dispose()
      })
    })
  })
}

/** Registration rules, key ranges, iteration over keys. */
export function backendTests(factory: KeyedBackendFactory): void {
  describe('keyed state backend', () => {
    it('refuses the same state name with another kind, naming the state', () => {
      withBackend(factory, (backend) => {
        backend.getValueState(new ValueStateDescriptor<number>('taken'))
        assert.throws(() => backend.getListState(new ListStateDescriptor<number>('taken')), isStateError('taken'))
        assert.throws(() => backend.getMapState(new MapStateDescriptor<number, number>('taken')), isStateError('taken'))
        assert.throws(() => backend.getReducingState(new ReducingStateDescriptor<number>('taken', sum)), isStateError('taken'))
        assert.throws(() => backend.getAggregatingState(new AggregatingStateDescriptor('taken', average)), isStateError('taken'))
      })
    })

    it('refuses a key of a key group outside its range, naming the group and the range', () => {
      const range = keyGroupRangeForSubtask(MAX_PARALLELISM, 4, 1)
      const backend = newBackend(factory, new ManualTimeProvider(T0), range)
      try {
        let outside: string | undefined
        let inside: string | undefined
        for (let i = 0; outside === undefined || inside === undefined; i++) {
          const key = `key-${i}`
          if (range.contains(keyGroupForKey(key, MAX_PARALLELISM))) inside ??= key
          else outside ??= key
        }
        const group = keyGroupForKey(outside, MAX_PARALLELISM)
        assert.throws(
          () => backend.setCurrentKey(outside),
          (error: unknown) => error instanceof WeirError && error.message.includes(`key group ${group}`) && error.message.includes(range.toString()),
        )
        backend.setCurrentKey(inside)
        assert.equal(backend.getCurrentKey(), inside)
      } finally {
        backend.dispose()
      }
    })

    it('refuses state access before a current key is set', () => {
      withBackend(factory, (backend) => {
        const state = backend.getValueState(new ValueStateDescriptor<number>('early'))
        assert.throws(() => state.value(), isStateError('early'))
        assert.throws(() => state.update(1), isStateError('early'))
      })
    })

    it('lists the keys of a state in a namespace', () => {
      withBackend(factory, (backend) => {
        const value = backend.getValueState(new ValueStateDescriptor<number>('v', Types.number))
        const list = backend.getListState(new ListStateDescriptor<number>('l', Types.number), windowSerializer)
        for (let i = 0; i < 100; i++) {
          backend.setCurrentKey(i)
          if (i % 2 === 0) value.update(i)
          list.setCurrentNamespace(win(i % 3))
          list.add(i)
        }
        assert.deepEqual([...backend.getKeys('v', VOID_NAMESPACE)].sort((a, b) => (a as number) - (b as number)), range(0, 100, 2))
        assert.deepEqual([...backend.getKeys('l', win(1))].sort((a, b) => (a as number) - (b as number)), range(1, 100, 3))
        assert.deepEqual([...backend.getKeys('unknown', VOID_NAMESPACE)], [])
      })
    })

    it('applies a function to every key with that key current, even when it changes the state of the key', () => {
      withBackend(factory, (backend) => {
        const descriptor = new ValueStateDescriptor<number>('v', Types.number)
        const value = backend.getValueState(descriptor)
        for (let i = 0; i < 200; i++) {
          backend.setCurrentKey(`k${i}`)
          value.update(i)
        }
        backend.setCurrentKey('k7')
        const seen: unknown[] = []
        backend.applyToAllKeys(VOID_NAMESPACE, descriptor, (key) => {
          seen.push(key)
          assert.equal(backend.getCurrentKey(), key)
          const n = value.value() as number
          // Removing and re-adding must not make the key come round again.
          value.clear()
          if (n % 2 === 0) value.update(n * 10)
        })
        assert.equal(seen.length, 200)
        assert.equal(new Set(seen).size, 200)
        assert.equal(backend.numEntries(), 100)
        backend.setCurrentKey('k8')
        assert.equal(value.value(), 80)
        backend.setCurrentKey('k9')
        assert.equal(value.value(), undefined)
      })
    })

    it('applies a function to the keys of a namespace', () => {
      withBackend(factory, (backend) => {
        const descriptor = new ListStateDescriptor<number>('l', Types.number)
        const list = backend.getListState(descriptor, windowSerializer)
        for (let i = 0; i < 50; i++) {
          backend.setCurrentKey(i)
          list.setCurrentNamespace(win(i % 2 === 0 ? 0 : 10))
          list.add(i)
        }
        const seen: number[] = []
        backend.applyToAllKeys(win(10), descriptor, (key) => {
          seen.push(key as number)
          assert.deepEqual(list.get(), [key])
        })
        assert.deepEqual(seen.sort((a, b) => a - b), range(1, 50, 2))
      })
    })

    it('counts entries over all states and namespaces', () => {
      withBackend(factory, (backend) => {
        const value = backend.getValueState(new ValueStateDescriptor<number>('v'))
        const list = backend.getListState(new ListStateDescriptor<number>('l'), windowSerializer)
        backend.setCurrentKey('a')
        value.update(1)
        list.setCurrentNamespace(win(0))
        list.add(1)
        list.add(2)
        list.setCurrentNamespace(win(10))
        list.add(3)
        backend.setCurrentKey('b')
        value.update(2)
        assert.equal(backend.numEntries(), 4)
        backend.dispose()
        assert.equal(backend.numEntries(), 0)
      })
    })
  })
}

function range(start: number, end: number, step: number): number[] {
  const out: number[] = []
  for (let i = start; i < end; i += step) out.push(i)
  return out
}

// ---- the rescaling fixture ----

const WINDOWS = [0, 10, 20, 30, 40, 50, 60].map(win)

/** Descriptors of every kind, some with TTL, some with default serializers, some in windows. */
function rescaleDescriptors() {
  return {
    v: new ValueStateDescriptor<{ n: number; s: string }>('v'),
    vn: new ValueStateDescriptor<number>('vn', Types.number),
    l: new ListStateDescriptor<number>('l', Types.number),
    lw: new ListStateDescriptor<number>('lw', Types.number),
    m: new MapStateDescriptor<string, number>('m', Types.string, Types.number),
    mk: new MapStateDescriptor<{ a: number; b: string }, string>('mk'),
    rw: new ReducingStateDescriptor<number>('rw', sum, Types.number),
    aw: new AggregatingStateDescriptor('aw', average),
    t: new ValueStateDescriptor<string>('t', Types.string).enableTimeToLive({ ttlMs: 3_600_000 }),
    lt: new ListStateDescriptor<number>('lt').enableTimeToLive({ ttlMs: 3_600_000 }),
    mt: new MapStateDescriptor<string, number>('mt').enableTimeToLive({ ttlMs: 3_600_000 }),
  }
}

type RescaleDescriptors = ReturnType<typeof rescaleDescriptors>
type StateName = keyof RescaleDescriptors
const WINDOWED: ReadonlySet<StateName> = new Set<StateName>(['lw', 'rw', 'aw'])

function registerAll(backend: KeyedStateBackend, d: RescaleDescriptors) {
  return {
    v: backend.getValueState(d.v),
    vn: backend.getValueState(d.vn),
    l: backend.getListState(d.l),
    lw: backend.getListState(d.lw, windowSerializer),
    m: backend.getMapState(d.m),
    mk: backend.getMapState(d.mk),
    rw: backend.getReducingState(d.rw, windowSerializer),
    aw: backend.getAggregatingState(d.aw, windowSerializer),
    t: backend.getValueState(d.t),
    lt: backend.getListState(d.lt),
    mt: backend.getMapState(d.mt),
  }
}

type RescaleStates = ReturnType<typeof registerAll>

function keyOf(i: number): Key {
  if (i % 11 === 0) return ['arr', i]
  switch (i % 3) {
    case 0:
      return `user-${i}`
    case 1:
      return i * 7
    default:
      return { id: i, tag: 'k' }
  }
}

interface ExpectedEntry {
  state: StateName
  key: Key
  namespace: TestWindow | typeof VOID_NAMESPACE
  content: unknown
}

/** Fills every state kind for `count` keys and returns what each (state, key, namespace) holds. */
function fillRescaleFixture(backend: KeyedStateBackend, states: RescaleStates, count: number): ExpectedEntry[] {
  const touched: [StateName, Key, TestWindow | typeof VOID_NAMESPACE][] = []
  for (let i = 0; i < count; i++) {
    const key = keyOf(i)
    backend.setCurrentKey(key)
    states.v.update({ n: i, s: `s${i}` })
    touched.push(['v', key, VOID_NAMESPACE])
    if (i % 2 === 0) {
      states.vn.update(i * 1.5)
      touched.push(['vn', key, VOID_NAMESPACE])
    }
    if (i % 3 !== 2) {
      states.l.addAll([i, i + 1, i + 2].slice(0, (i % 3) + 1))
      touched.push(['l', key, VOID_NAMESPACE])
    }
    if (i % 4 !== 3) {
      const first = WINDOWS[i % 7]
      states.lw.setCurrentNamespace(first)
      states.lw.add(i)
      touched.push(['lw', key, first])
      if (i % 8 === 0) {
        const second = WINDOWS[(i + 1) % 7]
        states.lw.setCurrentNamespace(second)
        states.lw.addAll([i, i + 1])
        touched.push(['lw', key, second])
      }
    }
    if (i % 5 !== 4) {
      for (let j = 0; j <= i % 4; j++) states.m.put(`a${j}`, i + j)
      touched.push(['m', key, VOID_NAMESPACE])
    }
    if (i % 9 === 0) {
      states.mk.put({ a: i, b: 'x' }, `v${i}`)
      states.mk.put({ b: 'y', a: i } as { a: number; b: string }, `w${i}`)
      touched.push(['mk', key, VOID_NAMESPACE])
    }
    if (i % 3 === 1) {
      const window = WINDOWS[i % 7]
      states.rw.setCurrentNamespace(window)
      states.rw.add(i)
      states.rw.add(1)
      touched.push(['rw', key, window])
    }
    if (i % 6 === 2) {
      const window = WINDOWS[i % 5]
      states.aw.setCurrentNamespace(window)
      states.aw.add(i)
      states.aw.add(i + 2)
      touched.push(['aw', key, window])
    }
    if (i % 10 === 0) {
      states.t.update(`t${i}`)
      touched.push(['t', key, VOID_NAMESPACE])
    }
    if (i % 17 === 0) {
      states.lt.add(i)
      touched.push(['lt', key, VOID_NAMESPACE])
    }
    if (i % 13 === 0) {
      states.mt.put('x', i)
      touched.push(['mt', key, VOID_NAMESPACE])
    }
  }
  return touched.map(([state, key, namespace]) => {
    backend.setCurrentKey(key)
    return { state, key, namespace, content: readContent(states, state, namespace) }
  })
}

function readContent(states: RescaleStates, name: StateName, namespace: TestWindow | typeof VOID_NAMESPACE): unknown {
  if (WINDOWED.has(name)) states[name].setCurrentNamespace(namespace as never)
  switch (name) {
    case 'v':
    case 'vn':
    case 't':
      return states[name].value()
    case 'l':
    case 'lw':
    case 'lt':
      return states[name].get()
    case 'm':
    case 'mk':
    case 'mt':
      return [...states[name].entries()].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    case 'rw':
    case 'aw':
      return states[name].get()
  }
}

/**
 * Checks that subtasks `0..parallelism-1` together hold exactly the expected entries, each in the
 * subtask owning its key group.
 */
function checkRescaled(backends: readonly KeyedStateBackend[], d: RescaleDescriptors, expected: readonly ExpectedEntry[]): void {
  const parallelism = backends.length
  const total = (): number => backends.reduce((n, backend) => n + backend.numEntries(), 0)
  assert.equal(total(), expected.length, 'entries restored, before the states are registered')
  const states = backends.map((backend) => registerAll(backend, d))
  assert.equal(total(), expected.length, 'entries restored, after the states are registered')

  const ownerOf = (key: unknown): number => operatorIndexForKeyGroup(MAX_PARALLELISM, parallelism, keyGroupForKey(key, MAX_PARALLELISM))
  for (const entry of expected) {
    const owner = ownerOf(entry.key)
    backends[owner].setCurrentKey(entry.key)
    const content = readContent(states[owner], entry.state, entry.namespace)
    // Only a failure pays for the message.
    if (!isDeepStrictEqual(content, entry.content)) assert.deepEqual(content, entry.content, `${entry.state} of ${JSON.stringify(entry.key)}`)
  }

  const wanted = new Map<string, Set<unknown>>()
  for (const entry of expected) {
    const where = `${entry.state} ${JSON.stringify(entry.namespace)}`
    let keys = wanted.get(where)
    if (keys === undefined) wanted.set(where, (keys = new Set()))
    keys.add(keyIdentity(entry.key))
  }
  for (const name of Object.keys(d) as StateName[]) {
    const namespaces = WINDOWED.has(name) ? WINDOWS : [VOID_NAMESPACE]
    for (const namespace of namespaces) {
      const union = new Set<unknown>()
      backends.forEach((backend, index) => {
        for (const key of backend.getKeys(name, namespace)) {
          if (ownerOf(key) !== index) assert.fail(`key ${JSON.stringify(key)} of state ${name} is in subtask ${index} of ${parallelism}, not in its owner ${ownerOf(key)}`)
          union.add(keyIdentity(key))
        }
      })
      const where = `${name} ${JSON.stringify(namespace)}`
      assert.deepEqual(union, wanted.get(where) ?? new Set(), `keys of ${where}`)
    }
  }
}

function restoreAt(factory: KeyedBackendFactory, parallelism: number, snapshots: readonly KeyedStateSnapshot[], clock: TtlTimeProvider): KeyedStateBackend[] {
  return Array.from({ length: parallelism }, (_, index) => {
    const backend = factory({ maxParallelism: MAX_PARALLELISM, keyGroupRange: keyGroupRangeForSubtask(MAX_PARALLELISM, parallelism, index), timeProvider: clock })
    backend.restore(snapshots)
    return backend
  })
}

/** Snapshots, restore, rescaling and the snapshot format. */
export function snapshotRestoreTests(factory: KeyedBackendFactory): void {
  describe('snapshot and restore', () => {
    it('restores the content of every state kind at parallelism 1, 2 and 3, then from 3 into 2', () => {
      const clock = new ManualTimeProvider(T0)
      const d = rescaleDescriptors()
      const source = newBackend(factory, clock)
      const expected = fillRescaleFixture(source, registerAll(source, d), 5000)
      const groups = new Set(Array.from({ length: 5000 }, (_, i) => keyGroupForKey(keyOf(i), MAX_PARALLELISM)))
      assert.equal(groups.size, MAX_PARALLELISM, 'the keys cover every key group')
      assert.equal(source.numEntries(), expected.length)
      const snapshot = source.snapshot()
      source.dispose()
      assert.equal(snapshot.keyGroups.size, MAX_PARALLELISM)

      let atThree: KeyedStateBackend[] = []
      for (const parallelism of [1, 2, 3]) {
        const backends = restoreAt(factory, parallelism, [snapshot], clock)
        checkRescaled(backends, d, expected)
        if (parallelism === 3) atThree = backends
        else for (const backend of backends) backend.dispose()
      }

      const snapshotsAtThree = atThree.map((backend) => backend.snapshot())
      for (const backend of atThree) backend.dispose()
      snapshotsAtThree.forEach((s, index) => {
        const range = keyGroupRangeForSubtask(MAX_PARALLELISM, 3, index)
        assert.deepEqual({ ...s.keyGroupRange }, { start: range.start, end: range.end })
        for (const group of s.keyGroups.keys()) assert.ok(range.contains(group), `key group ${group} in the snapshot of subtask ${index}`)
      })
      const atTwo = restoreAt(factory, 2, snapshotsAtThree, clock)
      checkRescaled(atTwo, d, expected)
      for (const backend of atTwo) backend.dispose()
    })

    it('is not affected by writes after it was taken', () => {
      const clock = new ManualTimeProvider(T0)
      const d = {
        value: new ValueStateDescriptor<{ n: number }>('value'),
        list: new ListStateDescriptor<number>('list', Types.number),
        map: new MapStateDescriptor<string, number>('map'),
        reducing: new ReducingStateDescriptor<number>('reducing', sum),
        aggregating: new AggregatingStateDescriptor('aggregating', average),
      }
      const source = newBackend(factory, clock)
      const value = source.getValueState(d.value)
      const list = source.getListState(d.list)
      const map = source.getMapState(d.map)
      const reducing = source.getReducingState(d.reducing)
      const aggregating = source.getAggregatingState(d.aggregating)
      source.setCurrentKey('k')
      const object = { n: 1 }
      value.update(object)
      list.add(1)
      map.put('a', 1)
      reducing.add(1)
      aggregating.add(1)
      const snapshot = source.snapshot()
      object.n = 2
      value.update({ n: 3 })
      list.add(2)
      map.put('a', 2)
      map.put('b', 2)
      reducing.add(2)
      aggregating.add(3)
      source.setCurrentKey('other')
      value.update({ n: 4 })
      source.dispose()

      const target = newBackend(factory, clock)
      target.restore([snapshot])
      assert.equal(target.numEntries(), 5)
      target.setCurrentKey('k')
      assert.deepEqual(target.getValueState(d.value).value(), { n: 1 })
      assert.deepEqual(target.getListState(d.list).get(), [1])
      assert.deepEqual([...target.getMapState(d.map).entries()], [['a', 1]])
      assert.equal(target.getReducingState(d.reducing).get(), 1)
      assert.equal(target.getAggregatingState(d.aggregating).get(), 1)
      target.dispose()
    })

    it('writes key groups in the documented encoding', () => {
      withBackend(factory, (backend) => {
        const value = backend.getValueState(new ValueStateDescriptor<number>('value', Types.number))
        const list = backend.getListState(new ListStateDescriptor<string>('list', Types.string), windowSerializer)
        const map = backend.getMapState(new MapStateDescriptor<string, number>('map', Types.string, Types.number))
        backend.setCurrentKey('k')
        value.update(1.5)
        list.setCurrentNamespace(win(0))
        list.addAll(['a', 'b'])
        map.put('x', 2)
        const snapshot = backend.snapshot()
        assert.equal(snapshot.maxParallelism, MAX_PARALLELISM)
        assert.deepEqual({ ...snapshot.keyGroupRange }, { start: 0, end: MAX_PARALLELISM - 1 })
        assert.deepEqual(
          snapshot.states.map((s) => [s.name, s.kind, s.valueSerializer.id, s.mapKeySerializer?.id, s.namespaceSerializer.id]),
          [
            ['value', 'value', 'number', undefined, 'void'],
            ['list', 'list', 'string', undefined, 'test-window'],
            ['map', 'map', 'number', 'string', 'void'],
          ],
        )
        const group = keyGroupForKey('k', MAX_PARALLELISM)
        assert.deepEqual([...snapshot.keyGroups.keys()], [group])
        const items = internalPackr.unpack(snapshot.keyGroups.get(group) as Uint8Array) as [number, [Uint8Array, Uint8Array, unknown][]][]
        const byState = new Map(items.map(([index, entries]) => [snapshot.states[index].name, entries]))
        const keyBytes = serializeKey('k')
        const bytes = (b: Uint8Array): number[] => [...b]
        const [valueEntry] = byState.get('value') ?? []
        assert.deepEqual(bytes(valueEntry[0]), bytes(keyBytes))
        assert.deepEqual(bytes(valueEntry[1]), [])
        const [valueBytes, valueExpiry] = valueEntry[2] as [Uint8Array, number]
        assert.deepEqual([bytes(valueBytes), valueExpiry], [bytes(Types.number.serialize(1.5)), 0])
        const [listEntry] = byState.get('list') ?? []
        assert.deepEqual(bytes(listEntry[1]), bytes(windowSerializer.serialize(win(0))))
        assert.deepEqual(
          (listEntry[2] as [Uint8Array, number][]).map(([b, e]) => [Types.string.deserialize(b), e]),
          [
            ['a', 0],
            ['b', 0],
          ],
        )
        const [mapEntry] = byState.get('map') ?? []
        assert.deepEqual(
          (mapEntry[2] as [Uint8Array, Uint8Array, number][]).map(([k, v, e]) => [Types.string.deserialize(k), Types.number.deserialize(v), e]),
          [['x', 2, 0]],
        )
      })
    })

    it('refuses snapshots of another max parallelism, naming both', () => {
      const snapshot: KeyedStateSnapshot = { maxParallelism: 256, keyGroupRange: { start: 0, end: 255 }, states: [], keyGroups: new Map() }
      withBackend(factory, (backend) => {
        assert.throws(
          () => backend.restore([snapshot]),
          (error: unknown) => error instanceof WeirError && error.code === 'MAX_PARALLELISM_MISMATCH' && error.message.includes('256') && error.message.includes('128'),
        )
      })
    })

    it('refuses to bind a restored state to a descriptor with other serializers, naming both', () => {
      const source = newBackend(factory)
      const state = source.getValueState(new ValueStateDescriptor<number>('count', Types.number))
      source.setCurrentKey('k')
      state.update(1)
      const snapshot = source.snapshot()
      source.dispose()
      withBackend(factory, (backend) => {
        backend.restore([snapshot])
        assert.throws(
          () => backend.getValueState(new ValueStateDescriptor<number>('count', Types.json<number>())),
          (error: unknown) => error instanceof StateError && error.message.includes("'count'") && error.message.includes("'number'") && error.message.includes("'json'"),
        )
        assert.throws(() => backend.getListState(new ListStateDescriptor<number>('count', Types.number)), isStateError('count'))
        assert.throws(
          () => backend.getValueState(new ValueStateDescriptor<number>('count', Types.number), windowSerializer),
          (error: unknown) => error instanceof StateError && error.message.includes("'void'") && error.message.includes("'test-window'"),
        )
        const restored = backend.getValueState(new ValueStateDescriptor<number>('count', Types.number))
        backend.setCurrentKey('k')
        assert.equal(restored.value(), 1)
      })
    })

    it('binds restored entries to states registered before the restore', () => {
      const descriptor = new ListStateDescriptor<number>('l', Types.number)
      const source = newBackend(factory)
      const list = source.getListState(descriptor, windowSerializer)
      source.setCurrentKey('k')
      list.setCurrentNamespace(win(0))
      list.add(1)
      const snapshot = source.snapshot()
      source.dispose()
      withBackend(factory, (backend) => {
        const early = backend.getListState(descriptor, windowSerializer)
        backend.restore([snapshot])
        backend.setCurrentKey('k')
        early.setCurrentNamespace(win(0))
        assert.deepEqual(early.get(), [1])
      })
    })

    it('carries restored states that were never registered into the next snapshot', () => {
      const d = {
        value: new ValueStateDescriptor<string>('value', Types.string),
        list: new ListStateDescriptor<number>('list', Types.number),
      }
      const source = newBackend(factory)
      const value = source.getValueState(d.value)
      const list = source.getListState(d.list, windowSerializer)
      for (let i = 0; i < 300; i++) {
        source.setCurrentKey(i)
        value.update(`v${i}`)
        list.setCurrentNamespace(win(i % 2))
        list.add(i)
      }
      const first = source.snapshot()
      source.dispose()

      const middle = restoreAt(factory, 2, [first], new ManualTimeProvider(T0))
      const second = middle.map((backend) => backend.snapshot())
      for (const backend of middle) backend.dispose()

      withBackend(factory, (backend) => {
        backend.restore(second)
        assert.equal(backend.numEntries(), 600)
        assert.equal([...backend.getKeys('value', VOID_NAMESPACE)].length, 300)
        const v = backend.getValueState(d.value)
        const l = backend.getListState(d.list, windowSerializer)
        for (let i = 0; i < 300; i++) {
          backend.setCurrentKey(i)
          assert.equal(v.value(), `v${i}`)
          l.setCurrentNamespace(win(i % 2))
          assert.deepEqual(l.get(), [i])
        }
      })
    })

    it('takes only the key groups of its range from each snapshot', () => {
      const source = newBackend(factory)
      const value = source.getValueState(new ValueStateDescriptor<number>('v', Types.number))
      for (let i = 0; i < 1000; i++) {
        source.setCurrentKey(i)
        value.update(i)
      }
      const snapshot = source.snapshot()
      source.dispose()
      const range = new KeyGroupRange(10, 19)
      const backend = newBackend(factory, new ManualTimeProvider(T0), range)
      try {
        backend.restore([snapshot])
        let expected = 0
        for (let i = 0; i < 1000; i++) if (range.contains(keyGroupForKey(i, MAX_PARALLELISM))) expected++
        assert.equal(backend.numEntries(), expected)
        const out = backend.snapshot()
        assert.deepEqual([...out.keyGroups.keys()].sort((a, b) => a - b), range.size === 0 ? [] : [...range].filter((g) => snapshot.keyGroups.has(g)))
      } finally {
        backend.dispose()
      }
    })

    it('snapshots an empty backend as no key groups', () => {
      withBackend(factory, (backend) => {
        backend.getValueState(new ValueStateDescriptor<number>('v'))
        const snapshot = backend.snapshot()
        assert.equal(snapshot.keyGroups.size, 0)
        assert.deepEqual(
          snapshot.states.map((s) => s.name),
          ['v'],
        )
      })
    })
  })
}

// ---- asynchronous snapshots ----

/** Byte equality of two snapshots, naming the first key group that differs. */
export function assertSameSnapshot(actual: KeyedStateSnapshot, expected: KeyedStateSnapshot, message = 'snapshot'): void {
  assert.equal(actual.maxParallelism, expected.maxParallelism, `${message}: max parallelism`)
  assert.deepEqual({ ...actual.keyGroupRange }, { ...expected.keyGroupRange }, `${message}: key-group range`)
  assert.deepEqual(actual.states, expected.states, `${message}: state metadata`)
  assert.deepEqual([...actual.keyGroups.keys()], [...expected.keyGroups.keys()], `${message}: key groups`)
  for (const [group, bytes] of expected.keyGroups) {
    const other = actual.keyGroups.get(group) as Uint8Array
    if (Buffer.compare(Buffer.from(other), Buffer.from(bytes)) !== 0) assert.fail(`${message}: key group ${group} differs (${other.length} bytes, expected ${bytes.length})`)
  }
}

/**
 * The content of a snapshot independent of the order entries were written in: one line per
 * (state, key, namespace), payload bytes as hex, map payloads sorted by user key.
 */
function canonicalContent(snapshot: KeyedStateSnapshot): string[] {
  const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
  const canon = (value: unknown): unknown => (value instanceof Uint8Array ? hex(value) : Array.isArray(value) ? value.map(canon) : value)
  const lines: string[] = []
  for (const [group, bytes] of snapshot.keyGroups) {
    const items = internalPackr.unpack(bytes) as [number, [Uint8Array, Uint8Array, unknown][]][]
    for (const [index, entries] of items) {
      const meta = snapshot.states[index]
      for (const [key, namespace, payload] of entries) {
        let content = canon(payload)
        if (meta.kind === 'map') content = (content as string[][]).map((e) => JSON.stringify(e)).sort()
        lines.push(`${group} ${meta.name} ${hex(key)} ${hex(namespace)} ${JSON.stringify(content)}`)
      }
    }
  }
  return lines.sort()
}

function finish(pending: PendingKeyedSnapshot, stepSize = 1): KeyedStateSnapshot {
  let steps = 0
  while (!pending.step(stepSize)) if (++steps > 10_000_000) assert.fail('the snapshot never finished')
  return pending.result()
}

/** Seeded PRNG (mulberry32): a failing run can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Counter {
  n: number
}

/** Changes its accumulator in place, as aggregate functions commonly do. */
const mutatingAverage: AggregateFunction<number, Average, number> = {
  createAccumulator: () => ({ sum: 0, count: 0 }),
  add: (value, acc) => {
    acc.sum += value
    acc.count++
    return acc
  },
  getResult: (acc) => acc.sum / acc.count,
  merge: (a, b) => {
    a.sum += b.sum
    a.count += b.count
    return a
  },
}

/** Reduces into its first argument in place. */
const mutatingSum = (a: Counter, b: Counter): Counter => {
  a.n += b.n
  return a
}

/** One descriptor per state kind, with and without namespaces and TTL, some holding mutable objects. */
function workloadDescriptors() {
  return {
    v: new ValueStateDescriptor<Counter>('v'),
    vn: new ValueStateDescriptor<number>('vn', Types.number),
    vt: new ValueStateDescriptor<string>('vt', Types.string).enableTimeToLive({ ttlMs: 60, updateType: 'onReadAndWrite' }),
    l: new ListStateDescriptor<number>('l', Types.number),
    lo: new ListStateDescriptor<Counter>('lo'),
    lt: new ListStateDescriptor<number>('lt', Types.number).enableTimeToLive({ ttlMs: 40 }),
    m: new MapStateDescriptor<string, Counter>('m', Types.string),
    mt: new MapStateDescriptor<string, number>('mt', Types.string, Types.number).enableTimeToLive({ ttlMs: 50, updateType: 'onReadAndWrite' }),
    r: new ReducingStateDescriptor<number>('r', sum, Types.number),
    ro: new ReducingStateDescriptor<Counter>('ro', mutatingSum),
    a: new AggregatingStateDescriptor('a', mutatingAverage),
    at: new AggregatingStateDescriptor('at', average).enableTimeToLive({ ttlMs: 70, visibility: 'returnExpiredIfNotCleanedUp' }),
  }
}

type WorkloadDescriptors = ReturnType<typeof workloadDescriptors>

function openWorkload(backend: KeyedStateBackend, d: WorkloadDescriptors) {
  return {
    backend,
    d,
    v: backend.getValueState(d.v),
    vn: backend.getValueState(d.vn, windowSerializer),
    vt: backend.getValueState(d.vt),
    l: backend.getListState(d.l, windowSerializer),
    lo: backend.getListState(d.lo),
    lt: backend.getListState(d.lt),
    m: backend.getMapState(d.m),
    mt: backend.getMapState(d.mt),
    r: backend.getReducingState(d.r, windowSerializer),
    ro: backend.getReducingState(d.ro),
    a: backend.getAggregatingState(d.a, windowSerializer),
    at: backend.getAggregatingState(d.at),
  }
}

type Workload = ReturnType<typeof openWorkload>
type Op = (w: Workload) => unknown

const WORKLOAD_WINDOWS = [0, 10, 20, 30].map(win)

function sortedEntries<V>(entries: Iterable<[string, V]>): [string, V][] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * A random operation on the workload. Its parameters are drawn here, once, so the same operation
 * can be applied to several backends; it returns what it read, to compare them.
 */
function randomOp(next: () => number, keySpace: number): Op {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]
  const int = (n: number): number => Math.floor(next() * n)
  const i = int(keySpace)
  const key: Key = i % 2 === 0 ? i : `key-${i}`
  const window = pick(WORKLOAD_WINDOWS)
  const others = WORKLOAD_WINDOWS.filter(() => next() < 0.5)
  const n = int(100)
  const userKey = `u${int(4)}`
  const variant = int(100)
  const on = (w: Workload, body: () => unknown): unknown => {
    w.backend.setCurrentKey(key)
    return body()
  }
  switch (int(13)) {
    case 0:
      return (w) =>
        on(w, () => {
          // Read, change in place, write back: the common pattern a snapshot must not see.
          const counter = w.v.value()
          if (variant < 10) w.v.clear()
          else if (counter === undefined) w.v.update({ n })
          else {
            counter.n += n
            w.v.update(counter)
          }
          return w.v.value()
        })
    case 1:
      return (w) =>
        on(w, () => {
          w.vn.setCurrentNamespace(window)
          if (variant < 20) w.vn.clear()
          else if (variant < 40) return w.vn.value()
          else w.vn.update(n)
          return w.vn.value()
        })
    case 2:
      return (w) =>
        on(w, () => {
          if (variant < 15) w.vt.clear()
          else if (variant < 60) return w.vt.value()
          else w.vt.update(`s${n}`)
          return undefined
        })
    case 3:
      return (w) =>
        on(w, () => {
          w.l.setCurrentNamespace(window)
          if (variant < 35) w.l.add(n)
          else if (variant < 50) w.l.addAll([n, n + 1])
          else if (variant < 60) w.l.update(variant < 55 ? [n] : [])
          else if (variant < 70) w.l.clear()
          else if (variant < 85) w.l.mergeNamespaces(window, others)
          return w.l.get()
        })
    case 4:
      return (w) =>
        on(w, () => {
          if (variant < 50) w.lo.add({ n })
          else if (variant < 60) w.lo.clear()
          else if (variant < 70) w.lo.update([{ n }, { n: n + 1 }])
          else {
            // Elements read back are changed in place; the list itself is not written.
            const elements = w.lo.get()
            for (const element of elements) element.n++
            w.lo.update(elements)
          }
          return w.lo.get()
        })
    case 5:
      return (w) =>
        on(w, () => {
          if (variant < 50) w.lt.add(n)
          return w.lt.get()
        })
    case 6:
      return (w) =>
        on(w, () => {
          if (variant < 30) w.m.put(userKey, { n })
          else if (variant < 40) w.m.remove(userKey)
          else if (variant < 45) w.m.clear()
          else if (variant < 55) w.m.putAll([[userKey, { n }], [`x${n % 3}`, { n }]])
          else if (variant < 80) {
            const counter = w.m.get(userKey)
            if (counter !== undefined) {
              counter.n += n
              w.m.put(userKey, counter)
            }
          } else if (variant < 90) {
            for (const value of w.m.values()) value.n++
            for (const [k, value] of [...w.m.entries()]) w.m.put(k, value)
          }
          return [sortedEntries(w.m.entries()), w.m.contains(userKey), w.m.isEmpty()]
        })
    case 7:
      return (w) =>
        on(w, () => {
          if (variant < 40) w.mt.put(userKey, n)
          else if (variant < 50) w.mt.remove(userKey)
          else if (variant < 75) return w.mt.get(userKey)
          return sortedEntries(w.mt.entries())
        })
    case 8:
      return (w) =>
        on(w, () => {
          w.r.setCurrentNamespace(window)
          if (variant < 50) w.r.add(n)
          else if (variant < 60) w.r.clear()
          else if (variant < 80) w.r.mergeNamespaces(window, others)
          return w.r.get()
        })
    case 9:
      return (w) =>
        on(w, () => {
          if (variant < 70) w.ro.add({ n })
          else if (variant < 80) w.ro.clear()
          return w.ro.get()
        })
    case 10:
      return (w) =>
        on(w, () => {
          w.a.setCurrentNamespace(window)
          if (variant < 55) w.a.add(n)
          else if (variant < 65) w.a.clear()
          else if (variant < 85) w.a.mergeNamespaces(window, others)
          return w.a.get()
        })
    case 11:
      return (w) =>
        on(w, () => {
          if (variant < 60) w.at.add(n)
          else if (variant < 70) w.at.clear()
          return w.at.get()
        })
    default:
      return (w) => {
        if (variant < 50) {
          let visited = 0
          w.backend.applyToAllKeys(VOID_NAMESPACE, w.d.v, () => {
            visited++
            const counter = w.v.value()
            if (counter !== undefined && counter.n % 2 === 0) w.v.clear()
            else if (counter !== undefined) w.v.update({ n: counter.n + 1 })
          })
          return visited
        }
        return [[...w.backend.getKeys('m', VOID_NAMESPACE)].map(String).sort(), w.backend.numEntries()]
      }
  }
}

/** Begin, step and result: the asynchronous snapshot contract. */
export function asyncSnapshotTests(factory: KeyedBackendFactory): void {
  describe('asynchronous snapshot', () => {
    it('holds the content of the moment it began, whatever is written while it is stepped', () => {
      withBackend(factory, (backend, clock) => {
        const d = workloadDescriptors()
        const w = openWorkload(backend, d)
        const next = random(7)
        for (let i = 0; i < 3000; i++) randomOp(next, 300)(w)
        const expected = backend.snapshot()
        const pending = backend.beginSnapshot()
        let done = false
        while (!done) {
          for (let i = 0; i < 5; i++) randomOp(next, 400)(w)
          clock.advance(1)
          done = pending.step(10)
        }
        assertSameSnapshot(pending.result(), expected)
      })
    })

    it('equals snapshot() at its begin under random operations of every kind interleaved with steps of 1 to 100 entries', () => {
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const clock = new ManualTimeProvider(T0)
        const backend = newBackend(factory, clock)
        const control = newBackend(factory, clock)
        const d = workloadDescriptors()
        const subject = openWorkload(backend, d)
        const twin = openWorkload(control, d)
        const next = random(seed)
        const keySpace = 250
        let ops = 0
        const apply = (op: Op): void => {
          ops++
          const got = op(subject)
          const want = op(twin)
          if (!isDeepStrictEqual(got, want)) assert.deepEqual(got, want, `seed ${seed}, operation ${ops}: the backend with a pending snapshot reads otherwise`)
        }
        try {
          for (let i = 0; i < 1500; i++) apply(randomOp(next, keySpace - 50))
          for (let cycle = 0; cycle < 4; cycle++) {
            const expected = backend.snapshot()
            const expectedContent = canonicalContent(control.snapshot())
            assert.deepEqual(canonicalContent(expected), expectedContent, `seed ${seed}, cycle ${cycle}: content before the snapshot`)
            const pending = backend.beginSnapshot()
            // A copy of the begin point, on a clock stopped there so TTL is judged at the same time.
            const copy = newBackend(factory, new ManualTimeProvider(clock.now()))
            copy.restore([expected])
            let done = false
            while (!done) {
              const roll = next()
              if (roll < 0.08) done = pending.step(1 + Math.floor(next() * 100))
              else if (roll < 0.11) clock.advance(Math.floor(next() * 15))
              else apply(randomOp(next, keySpace))
            }
            const result = pending.result()
            assertSameSnapshot(result, expected, `seed ${seed}, cycle ${cycle}`)
            assert.deepEqual(canonicalContent(result), expectedContent, `seed ${seed}, cycle ${cycle}: content`)
            assert.deepEqual(canonicalContent(result), canonicalContent(copy.snapshot()), `seed ${seed}, cycle ${cycle}: content of a copy restored at the begin point`)
            copy.dispose()
            for (let i = 0; i < 200; i++) apply(randomOp(next, keySpace))
          }
          assert.deepEqual(canonicalContent(backend.snapshot()), canonicalContent(control.snapshot()), `seed ${seed}: content at the end`)
          assert.equal(backend.numEntries(), control.numEntries())
        } finally {
          backend.dispose()
          control.dispose()
        }
      }
    })

    it('does not see objects read from the state and changed in place after it began', () => {
      withBackend(factory, (backend) => {
        const value = backend.getValueState(new ValueStateDescriptor<Counter>('value'))
        const map = backend.getMapState(new MapStateDescriptor<string, Counter>('map'))
        const list = backend.getListState(new ListStateDescriptor<Counter>('list'))
        const aggregating = backend.getAggregatingState(new AggregatingStateDescriptor('aggregating', mutatingAverage))
        const reducing = backend.getReducingState(new ReducingStateDescriptor<Counter>('reducing', mutatingSum))
        backend.setCurrentKey('k')
        value.update({ n: 1 })
        map.put('a', { n: 1 })
        list.add({ n: 1 })
        aggregating.add(1)
        reducing.add({ n: 1 })
        const expected = backend.snapshot()
        const pending = backend.beginSnapshot()
        ;(value.value() as Counter).n = 2
        ;(map.get('a') as Counter).n = 2
        for (const counter of map.values()) counter.n = 3
        for (const element of list.get()) element.n = 2
        ;(reducing.get() as Counter).n = 5
        aggregating.add(5)
        reducing.add({ n: 5 })
        assertSameSnapshot(finish(pending), expected)
      })
    })

    it('leaves out keys added and keeps keys removed after it began, in their places', () => {
      withBackend(factory, (backend) => {
        const value = backend.getValueState(new ValueStateDescriptor<number>('value', Types.number))
        const list = backend.getListState(new ListStateDescriptor<number>('list', Types.number), windowSerializer)
        for (let i = 0; i < 500; i++) {
          backend.setCurrentKey(i)
          value.update(i)
          list.setCurrentNamespace(win(i % 3))
          list.add(i)
        }
        const expected = backend.snapshot()
        const pending = backend.beginSnapshot()
        for (let i = 0; i < 500; i += 2) {
          backend.setCurrentKey(i)
          value.clear()
          list.setCurrentNamespace(win(i % 3))
          list.clear()
        }
        for (let i = 500; i < 700; i++) {
          backend.setCurrentKey(i)
          value.update(i)
        }
        // Removed, then back: the snapshot still writes the old value, where it was.
        for (let i = 0; i < 500; i += 4) {
          backend.setCurrentKey(i)
          value.update(-i)
        }
        assert.equal(backend.numEntries(), 250 + 250 + 200 + 125)
        assert.equal([...backend.getKeys('value', VOID_NAMESPACE)].length, 250 + 200 + 125)
        assertSameSnapshot(finish(pending, 7), expected)
        assert.equal(backend.numEntries(), 250 + 250 + 200 + 125)
        backend.setCurrentKey(4)
        assert.equal(value.value(), -4)
        backend.setCurrentKey(2)
        assert.equal(value.value(), undefined)
      })
    })

    it('is not reached by a restore, into registered and into still unregistered states', () => {
      const d = {
        value: new ValueStateDescriptor<number>('value', Types.number),
        list: new ListStateDescriptor<number>('list', Types.number),
        fresh: new ValueStateDescriptor<number>('fresh', Types.number),
      }
      const fill = (base: number, keys: number[]): KeyedStateSnapshot => {
        const source = newBackend(factory)
        const value = source.getValueState(d.value)
        const list = source.getListState(d.list)
        const fresh = source.getValueState(d.fresh)
        for (const key of keys) {
          source.setCurrentKey(key)
          value.update(base + key)
          list.add(base + key)
          fresh.update(base)
        }
        const snapshot = source.snapshot()
        source.dispose()
        return snapshot
      }
      const first = fill(1000, range(0, 300, 1))
      const second = fill(2000, range(150, 450, 1))
      withBackend(factory, (backend) => {
        backend.restore([first])
        // 'value' is bound, 'list' stays restored and unregistered until after the begin.
        const value = backend.getValueState(d.value)
        const expected = backend.snapshot()
        const pending = backend.beginSnapshot()
        pending.step(50)
        backend.restore([second])
        const list = backend.getListState(d.list)
        backend.setCurrentKey(160)
        list.add(7)
        value.update(7)
        assertSameSnapshot(finish(pending, 13), expected)
        assert.deepEqual(list.get(), [2160, 7])
        assert.equal(value.value(), 7)
        assert.equal(backend.getValueState(d.fresh).value(), 2000)
      })
    })

    it('allows one pending snapshot at a time; snapshot() works meanwhile', () => {
      withBackend(factory, (backend) => {
        const value = backend.getValueState(new ValueStateDescriptor<number>('value', Types.number))
        for (let i = 0; i < 100; i++) {
          backend.setCurrentKey(i)
          value.update(i)
        }
        const before = backend.snapshot()
        const pending = backend.beginSnapshot()
        assert.throws(() => backend.beginSnapshot(), (error: unknown) => error instanceof StateError)
        backend.setCurrentKey(1)
        value.update(-1)
        const during = backend.snapshot()
        assert.notDeepEqual(canonicalContent(during), canonicalContent(before))
        assertSameSnapshot(finish(pending), before)
        const next = backend.beginSnapshot()
        assertSameSnapshot(finish(next, 1000), during)
      })
    })

    it('result() throws until the last step; steps after the end return true', () => {
      withBackend(factory, (backend) => {
        const value = backend.getValueState(new ValueStateDescriptor<number>('value', Types.number))
        for (let i = 0; i < 50; i++) {
          backend.setCurrentKey(i)
          value.update(i)
        }
        const pending = backend.beginSnapshot()
        assert.equal(pending.step(1), false)
        assert.throws(() => pending.result(), (error: unknown) => error instanceof StateError)
        const result = finish(pending, 5)
        assert.equal(pending.step(1), true)
        assert.equal(pending.result(), result)
        assert.equal(result.keyGroups.size > 0, true)
      })
    })

    it('can be discarded at any point; the next snapshot is whole and state is unaffected', () => {
      withBackend(factory, (backend) => {
        const value = backend.getValueState(new ValueStateDescriptor<number>('value', Types.number))
        const map = backend.getMapState(new MapStateDescriptor<string, number>('map', Types.string, Types.number))
        for (let i = 0; i < 200; i++) {
          backend.setCurrentKey(i)
          value.update(i)
          map.put('a', i)
        }
        const pending = backend.beginSnapshot()
        pending.step(30)
        for (let i = 0; i < 200; i += 3) {
          backend.setCurrentKey(i)
          value.clear()
          map.put('b', i)
        }
        pending.discard()
        pending.discard()
        assert.throws(() => pending.step(1), (error: unknown) => error instanceof StateError)
        assert.throws(() => pending.result(), (error: unknown) => error instanceof StateError)
        for (let i = 1; i < 200; i += 3) {
          backend.setCurrentKey(i)
          value.clear()
        }
        const expected = backend.snapshot()
        assertSameSnapshot(finish(backend.beginSnapshot(), 17), expected)
        assert.equal(backend.numEntries(), 200 - 134 + 200)
        assert.equal([...backend.getKeys('value', VOID_NAMESPACE)].length, 66)
      })
    })

    it('writes the same as snapshot() with no write in between, whatever the step size', () => {
      const clock = new ManualTimeProvider(T0)
      const d = rescaleDescriptors()
      const backend = newBackend(factory, clock)
      try {
        fillRescaleFixture(backend, registerAll(backend, d), 2000)
        const expected = backend.snapshot()
        for (const size of [1, 3, 100, 1_000_000]) assertSameSnapshot(finish(backend.beginSnapshot(), size), expected, `steps of ${size}`)
        const empty = newBackend(factory, clock)
        empty.getValueState(d.v)
        assertSameSnapshot(finish(empty.beginSnapshot()), empty.snapshot(), 'empty backend')
        empty.dispose()
      } finally {
        backend.dispose()
      }
    })
  })
}
