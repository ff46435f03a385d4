import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { describe, it } from 'node:test'
import { internalPackr, Types } from '../../../src/api/serialization/types.ts'
import { WeirError } from '../../../src/errors.ts'
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../../../src/state/descriptors.ts'
import { HeapKeyedStateBackend } from '../../../src/state/heap/index.ts'
import { keyGroupForKey, KeyGroupRange, keyGroupRangeForSubtask, operatorIndexForKeyGroup } from '../../../src/state/key-groups.ts'
import { VOID_NAMESPACE, type KeyedStateBackend } from '../../../src/state/keyed-state-backend.ts'
import type { Key } from '../../../src/state/key-serialization.ts'
import { RocksDBKeyedStateBackend, rocksDBStateBackend } from '../../../src/state/rocksdb/index.ts'
import type { KeyedStateSnapshot } from '../../../src/state/snapshot.ts'
import type { AggregateFunction } from '../../../src/state/state.ts'
import { ManualTimeProvider, type TtlTimeProvider } from '../../../src/state/ttl.ts'
import { listStateTests, mapStateTests, namespaceTests, ttlTests, valueStateTests, windowSerializer, type KeyedBackendFactory, type TestWindow } from './keyed-backend-suite.ts'
import { ROCKSDB_TEST_ROOT, rocksDBTestOptions } from './rocksdb-factory.ts'

const MAX = 128
const T0 = 10_000

function rocks(range = new KeyGroupRange(0, MAX - 1), clock: TtlTimeProvider = new ManualTimeProvider(T0), cache = rocksDBTestOptions.cache): RocksDBKeyedStateBackend {
  return new RocksDBKeyedStateBackend({ maxParallelism: MAX, keyGroupRange: range, timeProvider: clock, operatorName: 'rocks test', root: ROCKSDB_TEST_ROOT, rocksdb: rocksDBTestOptions.rocksdb, cache })
}

function heap(range = new KeyGroupRange(0, MAX - 1), clock: TtlTimeProvider = new ManualTimeProvider(T0)): HeapKeyedStateBackend {
  return new HeapKeyedStateBackend({ maxParallelism: MAX, keyGroupRange: range, timeProvider: clock })
}

const win = (start: number): TestWindow => ({ start, end: start + 10 })

const average: AggregateFunction<number, [number, number], number> = {
  createAccumulator: () => [0, 0],
  add: (value, acc) => [acc[0] + value, acc[1] + 1],
  getResult: (acc) => acc[0] / acc[1],
  merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
}

/** One state of every kind, some in windows, some with TTL, some with composite map keys. */
function descriptors() {
  return {
    count: new ValueStateDescriptor<number>('count', Types.number),
    profile: new ValueStateDescriptor<{ name: string; tags: string[] }>('profile'),
    events: new ListStateDescriptor<string>('events', Types.string),
    windowed: new ListStateDescriptor<number>('windowed', Types.number),
    attributes: new MapStateDescriptor<{ a: number; b: string }, number>('attributes'),
    total: new ReducingStateDescriptor<number>('total', (a, b) => a + b, Types.number),
    mean: new AggregatingStateDescriptor('mean', average),
    session: new ValueStateDescriptor<string>('session', Types.string).enableTimeToLive({ ttlMs: 60_000 }),
    recent: new ListStateDescriptor<number>('recent', Types.number).enableTimeToLive({ ttlMs: 60_000 }),
    // Reads do not refresh it: the content is compared after the states were read.
    seen: new MapStateDescriptor<string, number>('seen', Types.string, Types.number).enableTimeToLive({ ttlMs: 60_000 }),
  }
}

type Descriptors = ReturnType<typeof descriptors>

function keyOf(i: number): Key {
  return i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? i : { id: i, region: i % 2 === 0 ? 'eu' : 'us' }
}

/** Fills a backend with `keys` keys over every state; returns the clock's time at the end. */
function fill(backend: KeyedStateBackend, d: Descriptors, keys: number, clock: ManualTimeProvider): void {
  const count = backend.getValueState(d.count)
  const profile = backend.getValueState(d.profile)
  const events = backend.getListState(d.events)
  const windowed = backend.getListState(d.windowed, windowSerializer)
  const attributes = backend.getMapState(d.attributes)
  const total = backend.getReducingState(d.total, windowSerializer)
  const mean = backend.getAggregatingState(d.mean, windowSerializer)
  const session = backend.getValueState(d.session)
  const recent = backend.getListState(d.recent)
  const seen = backend.getMapState(d.seen)
  for (let i = 0; i < keys; i++) {
    backend.setCurrentKey(keyOf(i))
    count.update(i)
    if (i % 2 === 0) profile.update({ name: `n${i}`, tags: [`t${i % 5}`] })
    events.addAll([`a${i}`, `b${i}`].slice(0, 1 + (i % 2)))
    windowed.setCurrentNamespace(win((i % 4) * 10))
    windowed.add(i)
    // Field order differs between the two puts: the same user key either way.
    attributes.put({ a: i % 5, b: 'x' }, i)
    attributes.put({ b: 'y', a: i } as { a: number; b: string }, -i)
    total.setCurrentNamespace(win(i % 3))
    total.add(i)
    mean.setCurrentNamespace(win(i % 2))
    mean.add(i)
    if (i % 4 === 0) session.update(`s${i}`)
    if (i % 5 === 0) recent.add(i)
    if (i % 6 === 0) seen.put(`p${i % 4}`, i)
    clock.advance(1)
  }
}

/**
 * The content of snapshots independent of entry order and of the encoding of byte arrays: one
 * line per (state, key group, key, namespace), map payloads sorted.
 */
function content(snapshots: readonly KeyedStateSnapshot[]): string[] {
  const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
  const canon = (value: unknown): unknown => (value instanceof Uint8Array ? hex(value) : Array.isArray(value) ? value.map(canon) : value)
  const lines: string[] = []
  for (const snapshot of snapshots) {
    for (const [group, bytes] of snapshot.keyGroups) {
      for (const [index, entries] of internalPackr.unpack(bytes) as [number, [Uint8Array, Uint8Array, unknown][]][]) {
        const meta = snapshot.states[index]
        for (const [key, namespace, payload] of entries) {
          let payloadText = canon(payload)
          if (meta.kind === 'map') payloadText = (payloadText as unknown[]).map((e) => JSON.stringify(e)).sort()
          lines.push(`${meta.name} ${group} ${hex(key)} ${hex(namespace)} ${JSON.stringify(payloadText)}`)
        }
      }
    }
  }
  return lines.sort()
}

function stateNames(snapshot: KeyedStateSnapshot): string[] {
  return snapshot.states.map((s) => `${s.name}:${s.kind}:${s.valueSerializer.id}:${s.mapKeySerializer?.id ?? ''}:${s.namespaceSerializer.id}:${s.ttl?.ttlMs ?? 0}`).sort()
}

/** Reads what every state holds for a key, through the state handles. */
function read(backend: KeyedStateBackend, d: Descriptors, key: Key): unknown {
  backend.setCurrentKey(key)
  const windowed = backend.getListState(d.windowed, windowSerializer)
  const total = backend.getReducingState(d.total, windowSerializer)
  const mean = backend.getAggregatingState(d.mean, windowSerializer)
  const windows = [0, 1, 2, 10, 20, 30].map(win)
  return {
    count: backend.getValueState(d.count).value(),
    profile: backend.getValueState(d.profile).value(),
    events: backend.getListState(d.events).get(),
    windowed: windows.map((w) => (windowed.setCurrentNamespace(w), windowed.get())),
    attributes: [...backend.getMapState(d.attributes).entries()].map((e) => JSON.stringify(e)).sort(),
    total: windows.map((w) => (total.setCurrentNamespace(w), total.get())),
    mean: windows.map((w) => (mean.setCurrentNamespace(w), mean.get())),
    session: backend.getValueState(d.session).value(),
    recent: backend.getListState(d.recent).get(),
    seen: [...backend.getMapState(d.seen).entries()].map((e) => JSON.stringify(e)).sort(),
  }
}

function restoreAt(create: (range: KeyGroupRange) => KeyedStateBackend, parallelism: number, snapshots: readonly KeyedStateSnapshot[]): KeyedStateBackend[] {
  return Array.from({ length: parallelism }, (_, index) => {
    const backend = create(keyGroupRangeForSubtask(MAX, parallelism, index))
    backend.restore(snapshots)
    return backend
  })
}

function ownerOf(key: Key, parallelism: number): number {
  return operatorIndexForKeyGroup(MAX, parallelism, keyGroupForKey(key, MAX))
}

describe('RocksDB keyed state backend specifics', () => {
  it('restores a heap snapshot, and the heap restores its snapshot, with the same content', () => {
    const clock = new ManualTimeProvider(T0)
    const d = descriptors()
    const source = heap(undefined, clock)
    fill(source, d, 400, clock)
    const fromHeap = source.snapshot()
    const expected = Array.from({ length: 400 }, (_, i) => read(source, d, keyOf(i)))
    source.dispose()

    // Restored before the states are registered: the rows are written as they are and bound later.
    const backend = rocks(undefined, clock)
    try {
      backend.restore([fromHeap])
      const fromRocks = backend.snapshot()
      assert.deepEqual(stateNames(fromRocks), stateNames(fromHeap))
      assert.deepEqual(content([fromRocks]), content([fromHeap]), 'a snapshot of the unregistered states')
      for (let i = 0; i < 400; i++) assert.deepEqual(read(backend, d, keyOf(i)), expected[i], `key ${JSON.stringify(keyOf(i))}`)
      const afterReads = backend.snapshot()

      const back = heap(undefined, clock)
      back.restore([afterReads])
      for (let i = 0; i < 400; i++) assert.deepEqual(read(back, d, keyOf(i)), expected[i], `heap, key ${JSON.stringify(keyOf(i))}`)
      assert.deepEqual(content([back.snapshot()]), content([backend.snapshot()]))
      back.dispose()
    } finally {
      backend.dispose()
    }
  })

  it('rescales from heap snapshots and from its own: heap 1 -> RocksDB 3 -> RocksDB 2 -> heap 1', () => {
    const clock = new ManualTimeProvider(T0)
    const d = descriptors()
    const source = heap(undefined, clock)
    fill(source, d, 600, clock)
    const original = source.snapshot()
    const expected = Array.from({ length: 600 }, (_, i) => read(source, d, keyOf(i)))
    source.dispose()

    const atThree = restoreAt((range) => rocks(range, clock), 3, [original])
    const snapshotsAtThree = atThree.map((backend) => backend.snapshot())
    for (const backend of atThree) backend.dispose()
    snapshotsAtThree.forEach((snapshot, index) => {
      const range = keyGroupRangeForSubtask(MAX, 3, index)
      for (const group of snapshot.keyGroups.keys()) assert.ok(range.contains(group), `key group ${group} in subtask ${index}`)
    })
    assert.deepEqual(content(snapshotsAtThree), content([original]))

    const atTwo = restoreAt((range) => rocks(range, clock), 2, snapshotsAtThree)
    try {
      for (let i = 0; i < 600; i++) {
        const key = keyOf(i)
        assert.deepEqual(read(atTwo[ownerOf(key, 2)], d, key), expected[i], `key ${JSON.stringify(key)}`)
      }
      for (const [index, backend] of atTwo.entries()) {
        for (const key of backend.getKeys('count', VOID_NAMESPACE)) assert.equal(ownerOf(key as Key, 2), index)
      }
      const back = heap(undefined, clock)
      back.restore(atTwo.map((backend) => backend.snapshot()))
      assert.deepEqual(content([back.snapshot()]), content([original]))
      back.dispose()
    } finally {
      for (const backend of atTwo) backend.dispose()
    }
  })

  it('creates its own directory under the root and removes it on dispose', () => {
    const backend = rocks(new KeyGroupRange(0, 63))
    const other = rocks(new KeyGroupRange(64, 127))
    try {
      assert.notEqual(backend.directory, other.directory)
      assert.equal(dirname(backend.directory), ROCKSDB_TEST_ROOT)
      assert.match(backend.directory, /rocks_test-kg0-63-/)
      assert.ok(readdirSync(backend.directory).includes('CURRENT'))
      const value = backend.getValueState(new ValueStateDescriptor<number>('v', Types.number))
      let key = 0
      while (keyGroupForKey(key, MAX) > 63) key++
      backend.setCurrentKey(key)
      value.update(1)
      backend.flush()
      assert.equal(backend.property('rocksdb.estimate-num-keys'), '1')
    } finally {
      backend.dispose()
    }
    assert.equal(existsSync(backend.directory), false)
    assert.ok(existsSync(other.directory))
    other.dispose()
    assert.equal(existsSync(other.directory), false)
    assert.equal(backend.numEntries(), 0)
    assert.doesNotThrow(() => backend.dispose())
  })

  it('appends list elements across flushes, evictions and snapshots without losing their order', () => {
    const clock = new ManualTimeProvider(T0)
    const backend = rocks(undefined, clock, { maxRows: 16, maxBytes: 1 << 20, maxDirty: 5 })
    try {
      const list = backend.getListState(new ListStateDescriptor<number>('l', Types.number))
      const expected = new Map<number, number[]>()
      for (let i = 0; i < 3000; i++) {
        const key = i % 37
        backend.setCurrentKey(key)
        list.add(i)
        expected.set(key, [...(expected.get(key) ?? []), i])
        if (i % 500 === 0) backend.snapshot()
        if (i % 7 === 0) assert.deepEqual(list.get(), expected.get(key))
      }
      const restored = rocks(undefined, clock)
      restored.restore([backend.snapshot()])
      const again = restored.getListState(new ListStateDescriptor<number>('l', Types.number))
      for (const [key, values] of expected) {
        restored.setCurrentKey(key)
        assert.deepEqual(again.get(), values)
      }
      restored.dispose()
    } finally {
      backend.dispose()
    }
  })

  it('counts entries after writes, removals and restores', () => {
    const backend = rocks()
    try {
      const value = backend.getValueState(new ValueStateDescriptor<number>('v', Types.number))
      const map = backend.getMapState(new MapStateDescriptor<string, number>('m', Types.string, Types.number), windowSerializer)
      for (let i = 0; i < 500; i++) {
        backend.setCurrentKey(i)
        value.update(i)
        map.setCurrentNamespace(win(i % 2))
        map.put('a', i)
        map.put('b', i)
      }
      assert.equal(backend.numEntries(), 1000)
      for (let i = 0; i < 500; i += 5) {
        backend.setCurrentKey(i)
        value.clear()
        map.setCurrentNamespace(win(i % 2))
        map.remove('a')
        if (i % 10 === 0) map.clear()
      }
      assert.equal(backend.numEntries(), 1000 - 100 - 50)
      const snapshot = backend.snapshot()
      const other = rocks()
      other.restore([snapshot])
      assert.equal(other.numEntries(), 850)
      other.dispose()
    } finally {
      backend.dispose()
    }
  })

  it('refuses bad options, naming them', () => {
    const invalid = (error: unknown): boolean => error instanceof WeirError && error.code === 'INVALID_STATE_BACKEND'
    assert.throws(() => rocksDBStateBackend({ blockCacheSize: -1 }), invalid)
    assert.throws(() => rocksDBStateBackend({ writeBufferSize: Number.NaN }), invalid)
    assert.throws(() => rocksDBStateBackend({ compression: 'lz4' as 'zstd' }), invalid)
    assert.equal(rocksDBStateBackend().name, 'rocksdb')
  })
})

describe('RocksDB keyed state backend with a row cache that evicts and flushes all the time', () => {
  // Every few accesses the cache writes everything out and forgets it, so reads go to RocksDB
  // and pending appends and deletes meet rows that were flushed: the semantics must not change.
  const tiny: KeyedBackendFactory = (options) =>
    new RocksDBKeyedStateBackend({ ...options, operatorName: 'tiny cache', root: ROCKSDB_TEST_ROOT, rocksdb: rocksDBTestOptions.rocksdb, cache: { maxRows: 3, maxBytes: 256, maxDirty: 2 } })
  valueStateTests(tiny)
  listStateTests(tiny)
  mapStateTests(tiny)
  ttlTests(tiny)
  namespaceTests(tiny)
})
