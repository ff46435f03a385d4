import assert from 'node:assert/strict'
import { it } from 'node:test'
import { Packr } from 'msgpackr'
import { Types } from '../../../src/api/serialization/types.ts'
import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from '../../../src/state/descriptors.ts'
import { StateError } from '../../../src/errors.ts'
import { KeyGroupRange } from '../../../src/state/key-groups.ts'
import type { KeyedStateBackend } from '../../../src/state/keyed-state-backend.ts'
import type { KeyedStateSnapshot } from '../../../src/state/snapshot.ts'

/**
 * Schema evolution cases any keyed state backend must pass: state written with one version of a
 * serializer, restored with another (see src/state/serializer-compatibility.ts).
 */

const packr = new Packr({ useRecords: false })
const MAX = 128

/** Version 1 of an event: `[user, amount]`. */
export interface EventV1 {
  user: string
  amount: number
}

/** Version 2: amounts in cents, and a currency. */
export interface EventV2 {
  user: string
  cents: number
  currency: string
}

/** Writes `EventV1` as `[user, amount]`. */
export const eventsV1 = Types.versioned<EventV1>({
  id: 'event',
  version: 1,
  serialize: (e) => packr.pack([e.user, e.amount]),
  deserialize: (b) => {
    const [user, amount] = packr.unpack(b) as [string, number]
    return { user, amount }
  },
})

/** Writes `EventV2` as `{ u, c, cur }`; reads version 1 bytes by converting amounts to cents in EUR. */
export const eventsV2 = Types.versioned<EventV2>({
  id: 'event',
  version: 2,
  serialize: (e) => packr.pack({ u: e.user, c: e.cents, cur: e.currency }),
  deserialize: (b) => {
    const { u, c, cur } = packr.unpack(b) as { u: string; c: number; cur: string }
    return { user: u, cents: c, currency: cur }
  },
  readVersion: {
    1: (b) => {
      const [user, amount] = packr.unpack(b) as [string, number]
      return { user, cents: Math.round(amount * 100), currency: 'EUR' }
    },
  },
})

/** A factory of keyed backends, so another backend can run the same cases. */
export type BackendFactory = (maxParallelism: number, range: KeyGroupRange) => KeyedStateBackend

function snapshotWith(factory: BackendFactory, fill: (backend: KeyedStateBackend) => void): KeyedStateSnapshot {
  const backend = factory(MAX, new KeyGroupRange(0, MAX - 1))
  fill(backend)
  const snapshot = backend.snapshot()
  backend.dispose()
  return snapshot
}

function restored(factory: BackendFactory, snapshot: KeyedStateSnapshot): KeyedStateBackend {
  const backend = factory(MAX, new KeyGroupRange(0, MAX - 1))
  backend.restore([snapshot])
  return backend
}

function assertStateError(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof StateError, `expected StateError, got ${String(error)}`)
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(fragment)}`)
    return true
  })
}

/** Schema evolution of keyed state through a backend's snapshot and restore. */
export function schemaEvolutionTests(factory: BackendFactory): void {
  it('value state written with version 1 is migrated when restored with version 2, and snapshots as version 2', () => {
    const snapshot = snapshotWith(factory, (backend) => {
      const state = backend.getValueState(new ValueStateDescriptor('last', eventsV1))
      for (const [user, amount] of [['ann', 1.25], ['bob', 3]] as const) {
        backend.setCurrentKey(user)
        state.update({ user, amount })
      }
    })
    const backend = restored(factory, snapshot)
    const state = backend.getValueState(new ValueStateDescriptor('last', eventsV2))
    backend.setCurrentKey('ann')
    assert.deepEqual(state.value(), { user: 'ann', cents: 125, currency: 'EUR' })
    backend.setCurrentKey('bob')
    assert.deepEqual(state.value(), { user: 'bob', cents: 300, currency: 'EUR' })
    const again = backend.snapshot()
    assert.deepEqual(again.states.find((s) => s.name === 'last')?.valueSerializer, { id: 'event', version: 2 })
    // Restoring the new snapshot with version 2 reads it as it is.
    const later = restored(factory, again)
    const laterState = later.getValueState(new ValueStateDescriptor('last', eventsV2))
    later.setCurrentKey('bob')
    assert.deepEqual(laterState.value(), { user: 'bob', cents: 300, currency: 'EUR' })
  })

  it('list elements and map keys and values are migrated too', () => {
    const keyV1 = Types.versioned<string>({ id: 'sku', version: 1, serialize: (s) => Types.string.serialize(s), deserialize: (b) => Types.string.deserialize(b) })
    const keyV2 = Types.versioned<string>({
      id: 'sku',
      version: 2,
      serialize: (s) => Types.string.serialize(s),
      deserialize: (b) => Types.string.deserialize(b),
      readVersion: { 1: (b) => `SKU-${Types.string.deserialize(b)}` },
    })
    const snapshot = snapshotWith(factory, (backend) => {
      const list = backend.getListState(new ListStateDescriptor('history', eventsV1))
      const map = backend.getMapState(new MapStateDescriptor('bySku', keyV1, eventsV1))
      backend.setCurrentKey('ann')
      list.add({ user: 'ann', amount: 1 })
      list.add({ user: 'ann', amount: 2 })
      map.put('7', { user: 'ann', amount: 0.5 })
    })
    const backend = restored(factory, snapshot)
    const list = backend.getListState(new ListStateDescriptor('history', eventsV2))
    const map = backend.getMapState(new MapStateDescriptor('bySku', keyV2, eventsV2))
    backend.setCurrentKey('ann')
    assert.deepEqual([...list.get()], [
      { user: 'ann', cents: 100, currency: 'EUR' },
      { user: 'ann', cents: 200, currency: 'EUR' },
    ])
    assert.deepEqual([...map.entries()], [['SKU-7', { user: 'ann', cents: 50, currency: 'EUR' }]])
  })

  it('objects stored with the default serializer may gain and lose optional fields', () => {
    interface Before {
      a: number
      b: string
    }
    interface After {
      a: number
      c?: string
    }
    const snapshot = snapshotWith(factory, (backend) => {
      const state = backend.getValueState(new ValueStateDescriptor<Before>('profile'))
      backend.setCurrentKey('k')
      state.update({ a: 1, b: 'dropped' })
    })
    const backend = restored(factory, snapshot)
    const state = backend.getValueState(new ValueStateDescriptor<After>('profile'))
    backend.setCurrentKey('k')
    const value = state.value()
    assert.equal(value?.a, 1)
    assert.equal(value?.c, undefined)
    state.update({ a: value!.a + 1, c: 'added' })
    const later = restored(factory, backend.snapshot())
    const laterState = later.getValueState(new ValueStateDescriptor<After>('profile'))
    later.setCurrentKey('k')
    assert.deepEqual(laterState.value(), { a: 2, c: 'added' })
  })

  it('an incompatible serializer is refused naming the state and both serializers, also for states registered before the restore', () => {
    const snapshot = snapshotWith(factory, (backend) => {
      const state = backend.getValueState(new ValueStateDescriptor('last', eventsV2))
      backend.setCurrentKey('a')
      state.update({ user: 'a', cents: 1, currency: 'EUR' })
    })
    // Version 1 cannot read version 2 (a downgrade), and a different id cannot read it at all.
    assertStateError(() => restored(factory, snapshot).getValueState(new ValueStateDescriptor('last', eventsV1)), "'last'", "'event' (version 2)", "'event' (version 1)")
    assertStateError(() => restored(factory, snapshot).getValueState(new ValueStateDescriptor('last', Types.json())), "'last'", "'event' (version 2)", "'json' (version 1)")
    const early = factory(MAX, new KeyGroupRange(0, MAX - 1))
    early.getValueState(new ValueStateDescriptor('last', Types.string))
    assertStateError(() => early.restore([snapshot]), "'last'", "'event'", "'string'")
  })

  it('a migration that fails on a value names the state and the serializers', () => {
    const strict = Types.versioned<number>({
      id: 'event',
      version: 2,
      serialize: Types.number.serialize,
      deserialize: Types.number.deserialize,
      readVersion: {
        1: () => {
          throw new Error('cannot convert')
        },
      },
    })
    const snapshot = snapshotWith(factory, (backend) => {
      const state = backend.getValueState(new ValueStateDescriptor('last', eventsV1))
      backend.setCurrentKey('a')
      state.update({ user: 'a', amount: 1 })
    })
    assertStateError(() => restored(factory, snapshot).getValueState(new ValueStateDescriptor('last', strict)), "'last'", 'cannot convert', "'event' (version 1)", "'event' (version 2)")
  })
}
