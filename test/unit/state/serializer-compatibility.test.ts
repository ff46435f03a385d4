import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { snapshotOf, type SerializerSnapshot, type TypeSerializer } from '../../../src/api/serialization/type-serializer.ts'
import { Types } from '../../../src/api/serialization/types.ts'
import { ListStateDescriptor, MapStateDescriptor } from '../../../src/state/descriptors.ts'
import { HeapKeyedStateBackend } from '../../../src/state/heap/index.ts'
import { DefaultOperatorStateBackend } from '../../../src/state/operator/default-operator-state-backend.ts'
import { resolveKeyedStateCompatibility, resolveSerializerCompatibility } from '../../../src/state/serializer-compatibility.ts'
import { eventsV1, eventsV2, schemaEvolutionTests, type BackendFactory } from './schema-evolution-suite.ts'

// Other backends' tests may import the suite from here too; schema-evolution-suite.ts is its home.
export { schemaEvolutionTests, type BackendFactory }

const heap: BackendFactory = (maxParallelism, keyGroupRange) => new HeapKeyedStateBackend({ maxParallelism, keyGroupRange, operatorName: 'evolving' })

describe('resolveSerializerCompatibility', () => {
  const snap = (id: string, version: number, schema?: SerializerSnapshot['schema']): SerializerSnapshot => (schema === undefined ? { id, version } : { id, version, schema })

  it('without resolveCompatibility: same id and version only', () => {
    assert.deepEqual(resolveSerializerCompatibility(snap('number', 1), Types.number), { kind: 'compatible' })
    assert.equal(resolveSerializerCompatibility(snap('number', 2), Types.number).kind, 'incompatible')
    assert.equal(resolveSerializerCompatibility(snap('string', 1), Types.number).kind, 'incompatible')
  })

  it('versioned: same version compatible, listed older versions migrate, others are refused with a reason', () => {
    assert.equal(resolveSerializerCompatibility(snap('event', 2), eventsV2).kind, 'compatible')
    const migrate = resolveSerializerCompatibility(snap('event', 1), eventsV2)
    assert.equal(migrate.kind, 'migrate')
    if (migrate.kind === 'migrate') assert.deepEqual(migrate.migrateFrom(eventsV1.serialize({ user: 'u', amount: 1.5 })), { user: 'u', cents: 150, currency: 'EUR' })
    const newer = resolveSerializerCompatibility(snap('event', 3), eventsV2)
    assert.ok(newer.kind === 'incompatible' && /newer/.test(newer.reason ?? ''), JSON.stringify(newer))
    const v3 = Types.versioned<number>({ id: 'n', version: 3, serialize: Types.number.serialize, deserialize: Types.number.deserialize, readVersion: { 2: Types.number.deserialize } })
    const missing = resolveSerializerCompatibility(snap('n', 1), v3)
    assert.ok(missing.kind === 'incompatible' && /no readVersion for version 1 \(readable older versions: 2\)/.test(missing.reason ?? ''), JSON.stringify(missing))
    assert.equal(resolveSerializerCompatibility(snap('other', 2), eventsV2).kind, 'incompatible')
  })

  it('versioned with a schema: the schema goes into the snapshot; another schema under the same version is refused', () => {
    const withSchema = Types.versioned<number>({ id: 'm', version: 1, serialize: Types.number.serialize, deserialize: Types.number.deserialize, schema: { fields: ['a', 'b'] } })
    assert.deepEqual(snapshotOf(withSchema), { id: 'm', version: 1, schema: { fields: ['a', 'b'] } })
    assert.equal(resolveSerializerCompatibility(snap('m', 1, { fields: ['a', 'b'] }), withSchema).kind, 'compatible')
    const changed = resolveSerializerCompatibility(snap('m', 1, { fields: ['a', 'c'] }), withSchema)
    assert.ok(changed.kind === 'incompatible' && /new version/.test(changed.reason ?? ''), JSON.stringify(changed))
  })

  it('msgpack reads its own bytes as they are and migrates JSON', () => {
    assert.equal(resolveSerializerCompatibility(snap('msgpack', 1), Types.default()).kind, 'compatible')
    const fromJson = resolveSerializerCompatibility(snap('json', 1), Types.default<{ a: number }>())
    assert.ok(fromJson.kind === 'migrate', fromJson.kind)
    assert.deepEqual(fromJson.migrateFrom(Types.json().serialize({ a: 1 })), { a: 1 })
    assert.equal(resolveSerializerCompatibility(snap('number', 1), Types.default()).kind, 'incompatible')
  })

  it('a resolveCompatibility that throws or answers nonsense is incompatible, with the reason', () => {
    const throwing: TypeSerializer<number> = { ...Types.number, resolveCompatibility: () => { throw new Error('boom') } }
    const odd = { ...Types.number, resolveCompatibility: () => 'maybe' } as unknown as TypeSerializer<number>
    const a = resolveSerializerCompatibility(snap('number', 1), throwing)
    const b = resolveSerializerCompatibility(snap('number', 1), odd)
    assert.ok(a.kind === 'incompatible' && /boom/.test(a.reason ?? ''), JSON.stringify(a))
    assert.ok(b.kind === 'incompatible' && /maybe/.test(b.reason ?? ''), JSON.stringify(b))
  })

  it('Types.versioned refuses readers for versions that are not older', () => {
    assert.throws(() => Types.versioned<number>({ id: 'x', version: 2, serialize: Types.number.serialize, deserialize: Types.number.deserialize, readVersion: { 2: Types.number.deserialize } }), /only older versions/)
    assert.throws(() => Types.versioned<number>({ id: 'x', version: 0, serialize: Types.number.serialize, deserialize: Types.number.deserialize }), /positive integer/)
  })

  it('resolveKeyedStateCompatibility: null when nothing changes, rewrites per role when something does', () => {
    const meta = { name: 's', kind: 'map' as const, valueSerializer: snapshotOf(eventsV1), mapKeySerializer: snapshotOf(Types.string), namespaceSerializer: { id: 'void', version: 1 } }
    const voidNs = { id: 'void', version: 1, serialize: () => new Uint8Array(0), deserialize: () => 0 }
    assert.equal(resolveKeyedStateCompatibility(meta, { value: eventsV1 as TypeSerializer<unknown>, mapKey: Types.string as TypeSerializer<unknown>, namespace: voidNs }), null)
    const migration = resolveKeyedStateCompatibility(meta, { value: eventsV2 as TypeSerializer<unknown>, mapKey: Types.string as TypeSerializer<unknown>, namespace: voidNs })
    assert.ok(migration?.value !== undefined && migration.mapKey === undefined && migration.namespace === undefined, 'only the value is migrated')
    assert.deepEqual(eventsV2.deserialize(migration.value(eventsV1.serialize({ user: 'x', amount: 2 }))), { user: 'x', cents: 200, currency: 'EUR' })
  })
})

describe('schema evolution of heap keyed state', () => {
  schemaEvolutionTests(heap)
})

describe('schema evolution of operator state', () => {
  it('list and broadcast state written with version 1 are migrated when read with version 2', () => {
    const before = new DefaultOperatorStateBackend(0)
    before.getListState(new ListStateDescriptor('buffer', eventsV1)).add({ user: 'a', amount: 1 })
    before.getBroadcastState(new MapStateDescriptor('rules', Types.string, eventsV1)).put('r', { user: 'b', amount: 2 })
    const snapshot = before.snapshot()
    const after = new DefaultOperatorStateBackend(0)
    after.restore([snapshot], 0, 1)
    assert.deepEqual([...after.getListState(new ListStateDescriptor('buffer', eventsV2)).get()], [{ user: 'a', cents: 100, currency: 'EUR' }])
    assert.deepEqual(after.getBroadcastState(new MapStateDescriptor('rules', Types.string, eventsV2)).get('r'), { user: 'b', cents: 200, currency: 'EUR' })
    const again = after.snapshot()
    const list = again.states.find((s) => s.name === 'buffer')
    assert.ok(list?.kind === 'list', 'the list state is in the snapshot')
    assert.deepEqual(list.serializer, { id: 'event', version: 2 })
  })
})
