import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DefaultOperatorStateBackend } from '../../../src/state/operator/default-operator-state-backend.ts'
import { redistributeOperatorState } from '../../../src/state/operator/redistribution.ts'
import { ListStateDescriptor, MapStateDescriptor } from '../../../src/state/descriptors.ts'
import type { OperatorStateSnapshot } from '../../../src/state/snapshot.ts'
import type { TypeSerializer } from '../../../src/api/serialization/type-serializer.ts'
import { Types } from '../../../src/api/serialization/types.ts'
import { StateError } from '../../../src/errors.ts'

/** A string serializer that counts its calls, to see when (de)serialization happens. */
function countingSerializer(id = 'counting-string', version = 1): TypeSerializer<string> & { serialized: number; deserialized: number } {
  return {
    id,
    version,
    serialized: 0,
    deserialized: 0,
    serialize(value: string) {
      this.serialized++
      return Buffer.from(value, 'utf8')
    },
    deserialize(bytes: Uint8Array) {
      this.deserialized++
      return Buffer.from(bytes).toString('utf8')
    },
  }
}

const splitList = (name = 'offsets') => new ListStateDescriptor<string>(name, Types.string)
const unionList = (name = 'partitions') => new ListStateDescriptor<string>(name, Types.string)
const rules = (name = 'rules') => new MapStateDescriptor<string, number>(name, Types.string, Types.number)

/** Asserts `fn` throws a StateError whose message contains every fragment. */
function assertStateError(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof StateError, `expected StateError, got ${String(error)}`)
    assert.equal(error.code, 'STATE_ERROR')
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(fragment)}`)
    return true
  })
}

/** Backends for an old job at `parallelism`, each filled by `fill`, and their snapshots. */
function snapshotsOf(parallelism: number, fill: (backend: DefaultOperatorStateBackend, index: number) => void): OperatorStateSnapshot[] {
  return Array.from({ length: parallelism }, (_, index) => {
    const backend = new DefaultOperatorStateBackend(index)
    fill(backend, index)
    return backend.snapshot()
  })
}

/** New backends at `parallelism`, restored from `snapshots`. */
function restoreAt(snapshots: OperatorStateSnapshot[], parallelism: number): DefaultOperatorStateBackend[] {
  return Array.from({ length: parallelism }, (_, index) => {
    const backend = new DefaultOperatorStateBackend(index)
    backend.restore(snapshots, index, parallelism)
    return backend
  })
}

const sorted = (values: string[]): string[] => [...values].sort()

describe('DefaultOperatorStateBackend', () => {
  describe('list state (split)', () => {
    it('adds, reads, replaces and clears', () => {
      const state = new DefaultOperatorStateBackend(0).getListState(splitList())
      assert.deepEqual(state.get(), [])
      state.add('a')
      state.addAll(['b', 'c'])
      assert.deepEqual(state.get(), ['a', 'b', 'c'])
      state.update(['x'])
      assert.deepEqual(state.get(), ['x'])
      state.addAll(new Set(['y', 'z']))
      assert.deepEqual(state.get(), ['x', 'y', 'z'])
      state.clear()
      assert.deepEqual(state.get(), [])
    })

    it('get returns a copy', () => {
      const state = new DefaultOperatorStateBackend(0).getListState(splitList())
      state.add('a')
      const view = state.get()
      view.push('not stored')
      assert.deepEqual(state.get(), ['a'])
    })

    it('keeps values as JavaScript objects and serializes only in snapshot', () => {
      const serializer = countingSerializer()
      const backend = new DefaultOperatorStateBackend(0)
      const objects = backend.getListState(new ListStateDescriptor<{ n: number }>('objects'))
      const record = { n: 1 }
      objects.add(record)
      assert.equal(objects.get()[0], record, 'the same object comes back, not a copy')
      const strings = backend.getListState(new ListStateDescriptor('strings', serializer))
      strings.addAll(['a', 'b'])
      strings.get()
      assert.equal(serializer.serialized, 0)
      backend.snapshot()
      assert.equal(serializer.serialized, 2)
    })

    it('rejects undefined elements, naming the state, and leaves the list unchanged', () => {
      const state = new DefaultOperatorStateBackend(0).getListState(new ListStateDescriptor<string | undefined>('maybe'))
      state.add('kept')
      assertStateError(() => state.add(undefined), "'maybe'", 'undefined')
      assertStateError(() => state.addAll(['x', undefined]), "'maybe'")
      assertStateError(() => state.update([undefined]), "'maybe'")
      assert.deepEqual(state.get(), ['kept'])
    })

    it('returns the same state for the same name', () => {
      const backend = new DefaultOperatorStateBackend(0)
      const first = backend.getListState(splitList())
      first.add('a')
      const second = backend.getListState(splitList())
      assert.equal(second, first)
      assert.deepEqual(second.get(), ['a'])
    })
  })

  describe('union list state', () => {
    it('adds, reads and is the same state for the same name', () => {
      const backend = new DefaultOperatorStateBackend(0)
      const state = backend.getUnionListState(unionList())
      state.addAll(['p0', 'p1'])
      assert.equal(backend.getUnionListState(unionList()), state)
      assert.deepEqual(state.get(), ['p0', 'p1'])
    })
  })

  describe('broadcast state', () => {
    it('puts, gets, removes and counts', () => {
      const state = new DefaultOperatorStateBackend(0).getBroadcastState(rules())
      assert.equal(state.size, 0)
      state.put('a', 1)
      state.putAll([
        ['b', 2],
        ['c', 3],
      ])
      assert.equal(state.size, 3)
      assert.equal(state.get('b'), 2)
      assert.equal(state.get('missing'), undefined)
      assert.ok(state.contains('a'))
      state.put('a', 10)
      assert.equal(state.get('a'), 10)
      assert.equal(state.size, 3)
      state.remove('b')
      assert.ok(!state.contains('b'))
      assert.deepEqual([...state.entries()], [
        ['a', 10],
        ['c', 3],
      ])
      assert.deepEqual([...state.keys()], ['a', 'c'])
      state.clear()
      assert.equal(state.size, 0)
      assert.deepEqual([...state.entries()], [])
    })

    it('compares keys canonically: field order and -0 do not matter, types do', () => {
      const state = new DefaultOperatorStateBackend(0).getBroadcastState(new MapStateDescriptor<unknown, string>('by-key'))
      state.put({ region: 'eu', id: 1 }, 'first')
      state.put({ id: 1, region: 'eu' }, 'second')
      assert.equal(state.size, 1)
      assert.equal(state.get({ region: 'eu', id: 1 }), 'second')
      assert.deepEqual([...state.keys()], [{ region: 'eu', id: 1 }])
      state.put(0, 'zero')
      assert.equal(state.get(-0), 'zero')
      state.put(1, 'number')
      state.put('1', 'string')
      state.put(1n, 'bigint')
      state.put([1], 'array')
      assert.equal(state.get(1), 'number')
      assert.equal(state.get('1'), 'string')
      assert.equal(state.get(1n), 'bigint')
      assert.equal(state.get([1]), 'array')
      assert.equal(state.size, 6)
      state.remove({ region: 'eu', id: 1 })
      assert.ok(!state.contains({ id: 1, region: 'eu' }))
    })

    it('entries are fresh pairs', () => {
      const state = new DefaultOperatorStateBackend(0).getBroadcastState(rules())
      state.put('a', 1)
      const [pair] = [...state.entries()]
      pair[1] = 99
      assert.equal(state.get('a'), 1)
    })

    it('is the same state for the same name', () => {
      const backend = new DefaultOperatorStateBackend(0)
      assert.equal(backend.getBroadcastState(rules()), backend.getBroadcastState(rules()))
    })
  })

  describe('snapshot', () => {
    it('records every state with its serializer and serialized elements', () => {
      const backend = new DefaultOperatorStateBackend(0)
      backend.getListState(new ListStateDescriptor('numbers', Types.number)).addAll([1.5, 2])
      backend.getUnionListState(unionList()).add('p')
      backend.getListState(new ListStateDescriptor<{ a: number }>('default')).add({ a: 1 })
      backend.getBroadcastState(rules()).put('r', 7)
      backend.getListState(splitList('empty'))
      const { states } = backend.snapshot()
      const byName = new Map(states.map((s) => [s.name, s]))
      assert.deepEqual([...byName.keys()].sort(), ['default', 'empty', 'numbers', 'partitions', 'rules'])

      const numbers = byName.get('numbers')
      assert.ok(numbers?.kind === 'list')
      assert.equal(numbers.mode, 'split')
      assert.deepEqual(numbers.serializer, { id: 'number', version: 1 })
      assert.deepEqual(numbers.elements.map((b) => Types.number.deserialize(b)), [1.5, 2])

      const partitions = byName.get('partitions')
      assert.ok(partitions?.kind === 'list')
      assert.equal(partitions.mode, 'union')

      const fallback = byName.get('default')
      assert.ok(fallback?.kind === 'list')
      assert.equal(fallback.serializer.id, Types.default().id)
      assert.deepEqual(Types.default().deserialize(fallback.elements[0]), { a: 1 })

      const broadcast = byName.get('rules')
      assert.ok(broadcast?.kind === 'broadcast')
      assert.deepEqual(broadcast.keySerializer, { id: 'string', version: 1 })
      assert.deepEqual(broadcast.valueSerializer, { id: 'number', version: 1 })
      assert.deepEqual(
        broadcast.entries.map(([k, v]) => [Types.string.deserialize(k), Types.number.deserialize(v)]),
        [['r', 7]],
      )

      const empty = byName.get('empty')
      assert.ok(empty?.kind === 'list')
      assert.deepEqual(empty.elements, [])
    })

    it('writes broadcast state only from subtask 0', () => {
      for (const index of [1, 2]) {
        const backend = new DefaultOperatorStateBackend(index)
        backend.getBroadcastState(rules()).put('r', 1)
        backend.getListState(splitList()).add('x')
        assert.deepEqual(backend.snapshot().states.map((s) => s.kind), ['list'])
      }
    })

    it('is not changed by later writes', () => {
      const backend = new DefaultOperatorStateBackend(0)
      const list = backend.getListState(splitList())
      const map = backend.getBroadcastState(rules())
      list.add('before')
      map.put('k', 1)
      const snapshot = backend.snapshot()
      list.add('after')
      map.put('k', 2)
      const [restored] = restoreAt([snapshot], 1)
      assert.deepEqual(restored.getListState(splitList()).get(), ['before'])
      assert.equal(restored.getBroadcastState(rules()).get('k'), 1)
    })

    it('wraps a serializer failure in a StateError naming the state', () => {
      const failing: TypeSerializer<string> = {
        id: 'failing',
        version: 1,
        serialize: () => {
          throw new Error('boom')
        },
        deserialize: () => '',
      }
      const backend = new DefaultOperatorStateBackend(0)
      backend.getListState(new ListStateDescriptor('fragile', failing)).add('x')
      assertStateError(() => backend.snapshot(), "'fragile'", 'boom')
    })
  })

  describe('restore at the same parallelism', () => {
    it('parallelism 1: every kind comes back as it was, in order', () => {
      const snapshots = snapshotsOf(1, (backend) => {
        backend.getListState(splitList()).addAll(['a', 'b', 'c'])
        backend.getUnionListState(unionList()).addAll(['p0', 'p1'])
        const map = backend.getBroadcastState(rules())
        map.put('x', 1)
        map.put('y', 2)
      })
      const [backend] = restoreAt(snapshots, 1)
      assert.deepEqual(backend.getListState(splitList()).get(), ['a', 'b', 'c'])
      assert.deepEqual(backend.getUnionListState(unionList()).get(), ['p0', 'p1'])
      assert.deepEqual([...backend.getBroadcastState(rules()).entries()], [
        ['x', 1],
        ['y', 2],
      ])
    })

    it('parallelism 2: each subtask gets its own split list back, in order', () => {
      const snapshots = snapshotsOf(2, (backend, index) => {
        backend.getListState(splitList()).addAll(index === 0 ? ['a', 'b'] : ['c', 'd', 'e'])
      })
      const backends = restoreAt(snapshots, 2)
      assert.deepEqual(backends[0].getListState(splitList()).get(), ['a', 'b'])
      assert.deepEqual(backends[1].getListState(splitList()).get(), ['c', 'd', 'e'])
    })

    it('keeps structured values through the default serializer', () => {
      const descriptor = () => new ListStateDescriptor<{ id: number; tags: string[]; big: bigint }>('structured')
      const value = { id: 1, tags: ['t'], big: 2n ** 70n }
      const snapshots = snapshotsOf(1, (backend) => backend.getListState(descriptor()).add(value))
      const [backend] = restoreAt(snapshots, 1)
      assert.deepEqual(backend.getListState(descriptor()).get(), [value])
    })
  })

  describe('rescaling', () => {
    /** Old subtask i holds list elements `s<i>-<j>` for j < counts[i], union elements `u<i>-<j>`, and the broadcast map. */
    function oldJob(counts: number[]): { snapshots: OperatorStateSnapshot[]; split: string[]; union: string[] } {
      const split: string[] = []
      const union: string[] = []
      const snapshots = snapshotsOf(counts.length, (backend, index) => {
        const list = backend.getListState(splitList())
        const unionState = backend.getUnionListState(unionList())
        for (let j = 0; j < counts[index]; j++) {
          list.add(`s${index}-${j}`)
          split.push(`s${index}-${j}`)
          unionState.add(`u${index}-${j}`)
          union.push(`u${index}-${j}`)
        }
        // Every subtask holds the same map, as a broadcast side would make it.
        const map = backend.getBroadcastState(rules())
        map.put('threshold', 10)
        map.put('window', 60)
      })
      return { snapshots, split, union }
    }

    for (const [from, to, counts] of [
      [2, 3, [5, 8]],
      [3, 2, [4, 0, 9]],
      [2, 3, [1, 0]],
      [3, 5, [7, 7, 7]],
      [4, 1, [3, 1, 4, 1]],
    ] as const) {
      it(`${from} -> ${to} (old list sizes ${counts.join(', ')})`, () => {
        const { snapshots, split, union } = oldJob([...counts])
        const backends = restoreAt(snapshots, to)

        // Split: every element exactly once overall, sizes differ by at most one.
        const shares = backends.map((b) => b.getListState(splitList()).get())
        assert.deepEqual(sorted(shares.flat()), sorted(split))
        const sizes = shares.map((s) => s.length)
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `unbalanced shares ${sizes.join(', ')}`)

        // Union: every subtask gets every element.
        for (const backend of backends) assert.deepEqual(sorted(backend.getUnionListState(unionList()).get()), sorted(union))

        // Broadcast: every subtask has the same map.
        for (const backend of backends) {
          assert.deepEqual([...backend.getBroadcastState(rules()).entries()], [
            ['threshold', 10],
            ['window', 60],
          ])
        }
      })
    }

    it('split elements go to subtask i % parallelism in old subtask order', () => {
      const snapshots = snapshotsOf(2, (backend, index) => backend.getListState(splitList()).addAll(index === 0 ? ['a', 'b', 'c'] : ['d', 'e']))
      const backends = restoreAt(snapshots, 3)
      assert.deepEqual(
        backends.map((b) => b.getListState(splitList()).get()),
        [
          ['a', 'd'],
          ['b', 'e'],
          ['c'],
        ],
      )
    })

    it('stores one copy of the broadcast state however many subtasks there are', () => {
      const { snapshots } = oldJob([1, 1, 1])
      const copies = snapshots.filter((s) => s.states.some((e) => e.kind === 'broadcast'))
      assert.equal(copies.length, 1)
    })

    it('takes broadcast state from whichever snapshot has it', () => {
      const snapshots = snapshotsOf(3, (backend, index) => {
        if (index === 0) backend.getBroadcastState(rules()).put('only', 1)
      })
      // Move the copy to the last position: the restore must not rely on it being first.
      const reordered = [snapshots[1], snapshots[2], snapshots[0]]
      for (const backend of restoreAt(reordered, 2)) assert.equal(backend.getBroadcastState(rules()).get('only'), 1)
    })

    it('survives two rescales in a row: 2 -> 3 -> 2', () => {
      const { snapshots, split, union } = oldJob([3, 6])
      const middle = restoreAt(snapshots, 3).map((backend) => {
        backend.getListState(splitList())
        // A union-state user keeps only its own part, as a source would.
        const u = backend.getUnionListState(unionList())
        const mine = u.get().filter((_, i) => i % 3 === backend.subtaskIndex)
        u.update(mine)
        backend.getBroadcastState(rules())
        return backend.snapshot()
      })
      const last = restoreAt(middle, 2)
      assert.deepEqual(sorted(last.flatMap((b) => b.getListState(splitList()).get())), sorted(split))
      for (const backend of last) assert.deepEqual(sorted(backend.getUnionListState(unionList()).get()), sorted(union))
      for (const backend of last) assert.equal(backend.getBroadcastState(rules()).get('window'), 60)
    })
  })

  describe('restored state that is not requested', () => {
    it('stays as bytes until requested, then is read with the descriptor serializer', () => {
      const snapshots = snapshotsOf(1, (backend) => backend.getListState(new ListStateDescriptor('lazy', countingSerializer())).addAll(['a', 'b']))
      const serializer = countingSerializer()
      const [backend] = restoreAt(snapshots, 1)
      assert.equal(serializer.deserialized, 0)
      assert.deepEqual(backend.getListState(new ListStateDescriptor('lazy', serializer)).get(), ['a', 'b'])
      assert.equal(serializer.deserialized, 2)
    })

    it('is carried into the next snapshot, so it survives a run that does not ask for it', () => {
      const { snapshots, split, union } = (() => {
        const split: string[] = []
        const union: string[] = []
        const snapshots = snapshotsOf(2, (backend, index) => {
          backend.getListState(splitList()).addAll([`s${index}a`, `s${index}b`])
          backend.getUnionListState(unionList()).add(`u${index}`)
          backend.getBroadcastState(rules()).put('k', 5)
          split.push(`s${index}a`, `s${index}b`)
          union.push(`u${index}`)
        })
        return { snapshots, split, union }
      })()
      // A run at parallelism 3 that requests nothing, then a restore at 2.
      const untouched = restoreAt(snapshots, 3).map((backend) => backend.snapshot())
      const backends = restoreAt(untouched, 2)
      assert.deepEqual(sorted(backends.flatMap((b) => b.getListState(splitList()).get())), sorted(split))
      // The union is not multiplied by the number of subtasks that carried it.
      for (const backend of backends) assert.deepEqual(sorted(backend.getUnionListState(unionList()).get()), sorted(union))
      for (const backend of backends) assert.equal(backend.getBroadcastState(rules()).get('k'), 5)
      assert.equal(untouched.filter((s) => s.states.some((e) => e.kind === 'broadcast')).length, 1)
    })
  })

  describe('errors', () => {
    it('a name reused with another kind or mode names the state', () => {
      const backend = new DefaultOperatorStateBackend(0)
      backend.getListState(splitList('shared'))
      assertStateError(() => backend.getUnionListState(unionList('shared')), "'shared'", 'union')
      assertStateError(() => backend.getBroadcastState(new MapStateDescriptor('shared')), "'shared'", 'broadcast')

      const other = new DefaultOperatorStateBackend(0)
      other.getUnionListState(unionList('u'))
      assertStateError(() => other.getListState(splitList('u')), "'u'")
      other.getBroadcastState(rules('b'))
      assertStateError(() => other.getListState(splitList('b')), "'b'", 'broadcast')
      assertStateError(() => other.getUnionListState(unionList('b')), "'b'", 'broadcast')
    })

    it('a name requested again with another serializer', () => {
      const backend = new DefaultOperatorStateBackend(0)
      backend.getListState(new ListStateDescriptor('typed', Types.string))
      assertStateError(() => backend.getListState(new ListStateDescriptor('typed', Types.json<string>())), "'typed'", 'string', 'json')
      backend.getBroadcastState(rules())
      assertStateError(() => backend.getBroadcastState(new MapStateDescriptor('rules', Types.string, Types.string)), "'rules'", 'value')
    })

    it('operator state has no time to live', () => {
      const backend = new DefaultOperatorStateBackend(0)
      assertStateError(() => backend.getListState(splitList('ttl').enableTimeToLive({ ttlMs: 1000 })), "'ttl'", 'keyed')
      assertStateError(() => backend.getBroadcastState(rules('ttl-map').enableTimeToLive({ ttlMs: 1000 })), "'ttl-map'")
    })

    it('a restored split list requested as a union list, and the other way round', () => {
      const snapshots = snapshotsOf(1, (backend) => {
        backend.getListState(splitList('was-split')).add('a')
        backend.getUnionListState(unionList('was-union')).add('b')
      })
      const [backend] = restoreAt(snapshots, 1)
      assertStateError(() => backend.getUnionListState(unionList('was-split')), "'was-split'", 'restored')
      assertStateError(() => backend.getListState(splitList('was-union')), "'was-union'", 'restored')
    })

    it('a restored list requested as broadcast state, and the other way round', () => {
      const snapshots = snapshotsOf(1, (backend) => {
        backend.getListState(splitList('list'))
        backend.getBroadcastState(rules('map'))
      })
      const [backend] = restoreAt(snapshots, 1)
      assertStateError(() => backend.getBroadcastState(rules('list')), "'list'")
      assertStateError(() => backend.getListState(splitList('map')), "'map'")
    })

    it('a restored state read with a serializer of another id or version', () => {
      const snapshots = snapshotsOf(1, (backend) => {
        backend.getListState(new ListStateDescriptor('elements', Types.string)).add('a')
        backend.getBroadcastState(rules()).put('k', 1)
        backend.getListState(new ListStateDescriptor('versioned', countingSerializer('mine', 1))).add('v')
      })
      const [backend] = restoreAt(snapshots, 1)
      assertStateError(() => backend.getListState(new ListStateDescriptor('elements', Types.json<string>())), "'elements'", "'string'", "'json'")
      assertStateError(() => backend.getBroadcastState(new MapStateDescriptor('rules', Types.string, Types.json<number>())), "'rules'", 'value', "'number'", "'json'")
      assertStateError(() => backend.getBroadcastState(new MapStateDescriptor('rules', Types.json<string>(), Types.number)), "'rules'", 'key')
      assertStateError(() => backend.getListState(new ListStateDescriptor('versioned', countingSerializer('mine', 2))), "'versioned'", 'version 1', 'version 2')
    })

    it('bytes the serializer cannot read', () => {
      // 0x92 is a msgpack array header promising two items that never come.
      const snapshot: OperatorStateSnapshot = {
        states: [{ name: 'broken', kind: 'list', mode: 'split', serializer: { id: 'msgpack', version: 1 }, elements: [Uint8Array.of(0x92)] }],
      }
      const [backend] = restoreAt([snapshot], 1)
      assertStateError(() => backend.getListState(new ListStateDescriptor('broken')), "'broken'", 'element 0')
    })

    it('restore after a state was requested', () => {
      const backend = new DefaultOperatorStateBackend(0)
      backend.getListState(splitList('early'))
      assertStateError(() => backend.restore([], 0, 1), "'early'", 'before')
    })

    it('restore for another subtask, or with a bad parallelism', () => {
      assertStateError(() => new DefaultOperatorStateBackend(1).restore([], 0, 2), 'subtask 1', 'subtask 0')
      assertStateError(() => new DefaultOperatorStateBackend(2).restore([], 2, 2), 'subtask index')
      assertStateError(() => new DefaultOperatorStateBackend(0).restore([], 0, 0), 'parallelism')
      assert.throws(() => new DefaultOperatorStateBackend(-1), StateError)
    })

    it('snapshots that disagree about a state', () => {
      const list = (mode: 'split' | 'union', id = 'string') => ({ name: 's', kind: 'list' as const, mode, serializer: { id, version: 1 }, elements: [] })
      const broadcast = { name: 's', kind: 'broadcast' as const, keySerializer: { id: 'string', version: 1 }, valueSerializer: { id: 'string', version: 1 }, entries: [] }
      assertStateError(() => redistributeOperatorState([{ states: [list('split')] }, { states: [list('union')] }], 0, 1), "'s'", 'split', 'union')
      assertStateError(() => redistributeOperatorState([{ states: [list('split')] }, { states: [list('split', 'json')] }], 0, 1), "'s'", 'json')
      assertStateError(() => redistributeOperatorState([{ states: [list('split')] }, { states: [broadcast] }], 0, 1), "'s'")
      assertStateError(() => redistributeOperatorState([{ states: [broadcast] }, { states: [list('union')] }], 0, 1), "'s'")
      assertStateError(() => redistributeOperatorState([{ states: [list('split'), list('split')] }], 0, 1), "'s'", 'twice')
    })
  })
})
