import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { TypeSerializer } from '../../../src/api/serialization/type-serializer.ts'
import { Types } from '../../../src/api/serialization/types.ts'
import { StateError } from '../../../src/errors.ts'
import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from '../../../src/state/descriptors.ts'
import { HeapKeyedStateBackend } from '../../../src/state/heap/index.ts'
import { KeyContext } from '../../../src/state/heap/key-context.ts'
import { StateTable, type CopyOnWriteGuard, type KeyEntry } from '../../../src/state/heap/state-table.ts'
import { KeyGroupRange } from '../../../src/state/key-groups.ts'
import { keyIdentity, type KeyIdentity } from '../../../src/state/key-serialization.ts'
import { heapFactory } from './heap-factory.ts'
import { assertSameSnapshot, asyncSnapshotTests } from './keyed-backend-suite.ts'

function fullRange(): HeapKeyedStateBackend {
  return new HeapKeyedStateBackend({ maxParallelism: 128, keyGroupRange: new KeyGroupRange(0, 127) })
}

/** A serializer that counts its calls and can be made to fail. */
class Counting<T> implements TypeSerializer<T> {
  readonly id: string
  readonly version: number
  calls = 0
  failing = false

  constructor(private readonly inner: TypeSerializer<T>) {
    this.id = inner.id
    this.version = inner.version
  }

  serialize(value: T): Uint8Array {
    this.calls++
    if (this.failing) throw new Error('cannot serialize')
    return this.inner.serialize(value)
  }

  deserialize(bytes: Uint8Array): T {
    return this.inner.deserialize(bytes)
  }
}

function fill(backend: HeapKeyedStateBackend, serializer: TypeSerializer<number>, count: number) {
  const value = backend.getValueState(new ValueStateDescriptor<number>('value', serializer))
  const list = backend.getListState(new ListStateDescriptor<number>('list', serializer))
  for (let i = 0; i < count; i++) {
    backend.setCurrentKey(i)
    value.update(i)
    list.add(i)
  }
  return { value, list }
}

describe('heap keyed state backend', () => {
  asyncSnapshotTests(heapFactory)

  describe('asynchronous snapshot, heap specifics', () => {
    it('serializes nothing when it begins', () => {
      const backend = fullRange()
      const serializer = new Counting(Types.number)
      fill(backend, serializer, 5000)
      serializer.calls = 0
      const pending = backend.beginSnapshot()
      assert.equal(serializer.calls, 0)
      while (!pending.step(100));
      assert.equal(serializer.calls, 10_000)
    })

    it('copies an entry of numbers at its first change, encodes one holding a list, and does nothing on reads of numbers', () => {
      const backend = fullRange()
      const serializer = new Counting(Types.number)
      const { value, list } = fill(backend, serializer, 1000)
      const expected = backend.snapshot()
      const pending = backend.beginSnapshot()
      serializer.calls = 0
      for (let i = 0; i < 1000; i++) {
        backend.setCurrentKey(i)
        assert.equal(value.value(), i)
      }
      assert.equal(serializer.calls, 0, 'reads of numbers')
      backend.setCurrentKey(1)
      value.update(10)
      value.update(11)
      assert.equal(serializer.calls, 0, 'writes of a number: the entry is copied, not encoded')
      list.add(5)
      list.add(6)
      assert.equal(serializer.calls, 1, 'first change of a list: encoded, once')
      while (!pending.step(100));
      // Every entry is encoded once: the list when it changed, the rest (the copy included) by the steps.
      assert.equal(serializer.calls, 2000)
      assertSameSnapshot(pending.result(), expected)
    })

    it('stops copying on write once finished or discarded', () => {
      const backend = fullRange()
      const serializer = new Counting(Types.number)
      const { value, list } = fill(backend, serializer, 1000)
      const writeAll = (): void => {
        for (let i = 0; i < 1000; i++) {
          backend.setCurrentKey(i)
          value.update((value.value() ?? 0) + 1)
          list.add(i)
        }
      }
      let pending = backend.beginSnapshot()
      while (!pending.step(50));
      serializer.calls = 0
      writeAll()
      assert.equal(serializer.calls, 0, 'after the snapshot finished')
      pending = backend.beginSnapshot()
      pending.step(10)
      pending.discard()
      serializer.calls = 0
      writeAll()
      assert.equal(serializer.calls, 0, 'after the snapshot was discarded')
    })

    it('does about maxEntries of work per step', () => {
      const backend = fullRange()
      fill(backend, Types.number, 2000)
      const pending = backend.beginSnapshot()
      let steps = 1
      while (!pending.step(10)) steps++
      // 4000 entries in 10s, plus each key group's packing, which counts as its entries.
      assert.ok(steps >= 400 && steps <= 1000, `${steps} steps`)
    })

    it('fails, without failing the write, when a value cannot be encoded at its first change', () => {
      const backend = fullRange()
      const serializer = new Counting(Types.number)
      const { value } = fill(backend, serializer, 100)
      const pending = backend.beginSnapshot()
      serializer.failing = true
      backend.setCurrentKey(3)
      value.update(30)
      value.clear()
      assert.equal(value.value(), undefined)
      assert.throws(() => pending.step(10), /cannot serialize/)
      assert.throws(() => pending.step(10), /cannot serialize/)
      serializer.failing = false
      const expected = backend.snapshot()
      const next = backend.beginSnapshot()
      while (!next.step(10));
      assertSameSnapshot(next.result(), expected)
    })

    it('is discarded by dispose', () => {
      const backend = fullRange()
      fill(backend, Types.number, 100)
      const pending = backend.beginSnapshot()
      backend.dispose()
      assert.throws(() => pending.step(10), (error: unknown) => error instanceof StateError)
    })

    it('copies a map state on its first change, not the user values it holds', () => {
      const backend = fullRange()
      const serializer = new Counting(Types.number)
      const map = backend.getMapState(new MapStateDescriptor<string, number>('map', Types.string, serializer))
      backend.setCurrentKey('k')
      for (let i = 0; i < 100; i++) map.put(`u${i}`, i)
      const expected = backend.snapshot()
      const pending = backend.beginSnapshot()
      serializer.calls = 0
      map.put('u0', -1)
      map.remove('u1')
      map.put('new', 1)
      assert.equal(serializer.calls, 100, 'the map is encoded once, at its first change')
      while (!pending.step(1));
      assertSameSnapshot(pending.result(), expected)
      assert.equal(serializer.calls, 100)
    })
  })

  describe('state table copy-on-write hooks', () => {
    /** A guard that records what it is asked and keeps every emptied key. */
    class RecordingGuard implements CopyOnWriteGuard<number> {
      preserved: KeyIdentity[] = []
      kept: KeyIdentity[] = []
      constructor(readonly version: number) {}
      exposes(): boolean {
        return false
      }
      preserve(_groupIndex: number, keyId: KeyIdentity, entry: KeyEntry<number>): void {
        entry.version = this.version
        this.preserved.push(keyId)
      }
      keepsEmpty(_groupIndex: number, keyId: KeyIdentity): boolean {
        this.kept.push(keyId)
        return true
      }
    }

    it('hands an entry over once before its first change, keeps emptied keys in place and reuses them', () => {
      const ctx = new KeyContext()
      const table = new StateTable<number>('t', ctx, 1)
      const at = (key: string): void => {
        ctx.key = key
        ctx.keyId = keyIdentity(key)
        ctx.groupIndex = 0
      }
      for (const key of ['a', 'b', 'c']) {
        at(key)
        table.put(0, 0, 1)
      }
      const guard = new RecordingGuard(1)
      table.attach(guard)
      at('b')
      assert.equal(table.get(0), 1)
      assert.deepEqual(guard.preserved, [], 'a read of a number is not a change')
      table.put(0, 0, 2)
      table.put(0, 0, 3)
      table.remove(0)
      assert.deepEqual(guard.preserved, [keyIdentity('b')])
      assert.deepEqual(guard.kept, [keyIdentity('b')])
      assert.deepEqual([...table.group(0).keys()], ['a', 'b', 'c'].map((k) => keyIdentity(k)), 'b stays where it was')
      assert.equal(table.get(0), undefined)
      assert.equal(table.size(), 2)
      at('d')
      table.put(0, 0, 1)
      at('b')
      table.put(0, 0, 4)
      assert.deepEqual([...table.group(0).keys()], ['a', 'b', 'c', 'd'].map((k) => keyIdentity(k)), 'b came back in its place')
      assert.deepEqual(guard.preserved, [keyIdentity('b')], 'new and handed-over entries are not handed over again')
      table.remove(0)
      table.detach(guard)
      table.dropEmpty(0, guard.kept)
      assert.deepEqual([...table.group(0).keys()], ['a', 'c', 'd'].map((k) => keyIdentity(k)))
      at('a')
      table.remove(0)
      assert.deepEqual([...table.group(0).keys()], ['c', 'd'].map((k) => keyIdentity(k)), 'detached: removal is immediate')
    })
  })
})
