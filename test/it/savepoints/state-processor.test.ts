import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { RULES, generatePurchases, spendingAlerts, type Alert, type Purchase, type Rule } from '../../../examples/spending-alerts.ts'
import {
  KeyedProcessFunction,
  ListStateDescriptor,
  MapStateDescriptor,
  StateError,
  StreamEnvironment,
  Types,
  ValueStateDescriptor,
  WatermarkStrategy,
  WeirError,
  collectSink,
  readSavepoint,
  writeSavepoint,
  type Collector,
  type KeyedProcessContext,
  type ListState,
  type MapState,
  type RuntimeContext,
  type Source,
  type SourceSplit,
  type ValueState,
} from '../../../src/index.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-state-processor-'))
after(() => rmSync(root, { recursive: true, force: true }))

/** A source that never emits and never ends: keeps a job running after its real input is read. */
function openEnded<T>(): Source<T, SourceSplit, null> {
  const enumerator = { start() {}, handleSplitRequest() {}, addSplitsBack() {}, addReader() {}, snapshotState: () => null }
  return {
    boundedness: 'continuous',
    createEnumerator: () => enumerator,
    restoreEnumerator: () => enumerator,
    createReader: () => ({
      start() {},
      pollNext: () => 'nothing-available' as const,
      isAvailable: () => new Promise<void>(() => {}),
      addSplits() {},
      notifyNoMoreSplits() {},
      snapshotState: () => [],
      close() {},
    }),
  }
}

const PURCHASES = generatePurchases(5000)
let spendingSavepoint: string

before(async () => {
  // The spending-alerts pipeline of the example, kept running until every purchase and rule is in
  // its state, then stopped with a savepoint.
  const env = StreamEnvironment.create({ parallelism: 2 })
  env.enableCheckpointing(3_600_000)
  const purchases = env
    .fromCollection(PURCHASES, 'purchases')
    .uid('purchases')
    .union(env.fromSource(openEnded<Purchase>(), WatermarkStrategy.noWatermarks(), 'more purchases').uid('more-purchases'))
  const rules = env
    .fromCollection(RULES, 'rules')
    .uid('rules')
    .union(env.fromSource(openEnded<Rule>(), WatermarkStrategy.noWatermarks(), 'more rules').uid('more-rules'))
  const alerts: Alert[] = []
  spendingAlerts(purchases, rules).sinkTo(collectSink(alerts), 'collect').uid('collect')
  const job = env.executeAsync('spending', { log: () => {} })
  const seen = (): number => job.tasks.flatMap((t) => t.metrics).filter((m) => m.operatorName === 'alerts').reduce((n, m) => n + m.recordsIn, 0)
  const deadline = Date.now() + 15_000
  // Both subtasks of 'alerts' receive every rule (it is broadcast).
  while (seen() < PURCHASES.length + 2 * RULES.length) {
    if (Date.now() > deadline) throw new Error(`the job saw ${seen()} records in 15 s`)
    await new Promise((r) => setTimeout(r, 10))
  }
  spendingSavepoint = (await job.stopWithSavepoint({ targetDirectory: join(root, 'spending') })).pointer
  await job.result
})

test('readSavepoint lists the operators with their states, kinds and serializers', async () => {
  const savepoint = await readSavepoint(spendingSavepoint)
  assert.equal(savepoint.metadata.jobName, 'spending')
  assert.equal(savepoint.metadata.kind, 'savepoint')
  const alerts = savepoint.operator('alerts')
  assert.equal(alerts.parallelism, 2)
  assert.equal(alerts.maxParallelism, 128)
  assert.deepEqual(
    alerts.keyedStates.map((s) => [s.name, s.kind, s.mapKeySerializer?.id, s.valueSerializer.id]).sort(),
    [
      ['alerted', 'map', 'string', 'boolean'],
      ['spent', 'map', 'string', 'number'],
    ],
  )
  assert.deepEqual(alerts.operatorStates, [{ name: 'rules', kind: 'broadcast', keySerializer: { id: 'string', version: 1 }, valueSerializer: { id: 'msgpack', version: 1 } }])
  assert.deepEqual(
    alerts.files.map((f) => f.keyGroupRange),
    [
      { start: 0, end: 63 },
      { start: 64, end: 127 },
    ],
  )
  assert.ok(savepoint.operators.some((o) => o.uid === 'collect'), 'every operator is listed, with state or not')
  assert.throws(
    () => savepoint.operator('nope'),
    (e: unknown) => e instanceof WeirError && e.code === 'SAVEPOINT_NO_SUCH_OPERATOR' && /'alerts'/.test(e.message),
  )
})

test('every key and value of the keyed and broadcast state of the job is read back', async () => {
  const savepoint = await readSavepoint(spendingSavepoint)
  const totals = new Map<string, Map<string, number>>()
  for (const p of PURCHASES) {
    let byCategory = totals.get(p.user)
    if (!byCategory) totals.set(p.user, (byCategory = new Map()))
    byCategory.set(p.category, (byCategory.get(p.category) ?? 0) + p.amount)
  }
  const spent = new Map<string, Map<string, number>>()
  for await (const { key, namespace, value } of savepoint.readKeyedState<string, Map<string, number>>('alerts', 'spent')) {
    assert.equal(namespace, undefined)
    assert.equal(spent.has(key), false)
    spent.set(key, value)
  }
  // Flat, sorted lines: a failure then shows a readable diff (a nested Map diff takes very long).
  const flat = (m: Map<string, Map<string, number>>): string[] => [...m].flatMap(([user, byCategory]) => [...byCategory].map(([c, n]) => `${user}/${c}=${n}`)).sort()
  assert.deepEqual(flat(spent), flat(totals))

  const expectedAlerts = new Set<string>()
  for (const [user, byCategory] of totals) for (const rule of RULES) if ((byCategory.get(rule.category) ?? 0) >= rule.limit) expectedAlerts.add(`${user}:${rule.id}`)
  const alerted = new Set<string>()
  for await (const { key, value } of savepoint.readKeyedState<string, Map<string, boolean>>('alerts', 'alerted')) for (const [rule, flag] of value) if (flag) alerted.add(`${key}:${rule}`)
  assert.ok(expectedAlerts.size > 3, `the data should raise alerts, got ${expectedAlerts.size}`)
  assert.deepEqual([...alerted].sort(), [...expectedAlerts].sort())

  const rules = new Map<string, Rule>()
  for await (const [id, rule] of savepoint.readBroadcastState<string, Rule>('alerts', 'rules')) rules.set(id, rule)
  assert.deepEqual(rules, new Map(RULES.map((r) => [r.id, r])))

  // The statistics agree with what was read.
  const stats = await savepoint.statistics('alerts')
  assert.equal(stats.keyedStates.find((s) => s.meta.name === 'spent')?.keys, totals.size)
  assert.equal(stats.operatorStates[0].items, RULES.length)
})

test('reading with a serializer that cannot read the state is refused naming the state and both serializers', async () => {
  const savepoint = await readSavepoint(spendingSavepoint)
  await assert.rejects(
    async () => {
      for await (const _ of savepoint.readKeyedState('alerts', 'spent', { valueSerializer: Types.string })) break
    },
    (e: unknown) => e instanceof StateError && /'spent'/.test(e.message) && /'number'/.test(e.message) && /'string'/.test(e.message),
  )
  await assert.rejects(
    async () => {
      for await (const _ of savepoint.readOperatorState('alerts', 'rules')) break
    },
    (e: unknown) => e instanceof WeirError && e.code === 'SAVEPOINT_STATE_KIND',
  )
})

test('a savepoint written from data bootstraps a job: broadcast rules and map state are there when it starts', async () => {
  const dir = join(root, 'bootstrapped-alerts')
  await writeSavepoint(dir, {
    maxParallelism: 128,
    operators: [
      {
        uid: 'alerts',
        parallelism: 2,
        keyed: {
          states: [
            {
              name: 'spent',
              kind: 'map',
              mapKeySerializer: Types.string,
              serializer: Types.number,
              entries: [
                { key: 'user-1', value: new Map([['food', 1990]]) },
                { key: 'user-2', value: { travel: 100 } },
              ],
            },
          ],
        },
        operatorState: { states: [{ name: 'rules', kind: 'broadcast', keySerializer: Types.string, entries: RULES.map((r) => [r.id, r] as const) }] },
      },
    ],
  })
  const read = await readSavepoint(dir)
  assert.equal(read.metadata.kind, 'savepoint')
  assert.deepEqual(read.operator('alerts').keyedStates.map((s) => s.name), ['spent'])

  // At parallelism 3: the state written for 2 subtasks is split anew by key group.
  const env = StreamEnvironment.create({ parallelism: 3 })
  const alerts: Alert[] = []
  const purchases: Purchase[] = [
    { user: 'user-1', category: 'food', amount: 20 },
    { user: 'user-2', category: 'travel', amount: 5 },
  ]
  spendingAlerts(env.fromCollection(purchases), env.fromCollection<Rule>([])).sinkTo(collectSink(alerts))
  await env.execute('bootstrapped', { restoreFrom: dir, log: () => {} })
  assert.deepEqual(alerts, [{ user: 'user-1', rule: 'big-food', total: 2010 }])
})

/** Emits, per word, what its value, list and map state hold (after counting the word once more). */
class Report extends KeyedProcessFunction<string, string, string> {
  private count!: ValueState<number>
  private history!: ListState<string>
  private tags!: MapState<string, number>
  override open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor('count', Types.number))
    this.history = ctx.getListState(new ListStateDescriptor<string>('history'))
    this.tags = ctx.getMapState(new MapStateDescriptor<string, number>('tags'))
  }
  processElement(word: string, _ctx: KeyedProcessContext<string>, out: Collector<string>): void {
    const n = (this.count.value() ?? 0) + 1
    this.count.update(n)
    const tags = [...this.tags.entries()].map(([k, v]) => `${k}=${v}`).join(',')
    out.collect(`${word}:${n}:${this.history.get().join('|')}:${tags}`)
  }
}

test('keyed value, list and map state written for 1000 keys land in the right key groups and are seen by the job at another parallelism', async () => {
  const dir = join(root, 'bootstrapped-words')
  const words = Array.from({ length: 1000 }, (_, i) => `w${i}`)
  await writeSavepoint(dir, {
    operators: [
      {
        uid: 'report',
        parallelism: 4,
        keyed: {
          states: [
            { name: 'count', kind: 'value', serializer: Types.number, entries: words.map((key, i) => ({ key, value: i })) },
            { name: 'history', kind: 'list', entries: [{ key: 'w1', value: ['x', 'y'] }] },
            { name: 'tags', kind: 'map', entries: [{ key: 'w2', value: [['k', 1] as const] }] },
          ],
        },
      },
    ],
  })
  const env = StreamEnvironment.create({ parallelism: 3 })
  const out: string[] = []
  env.fromCollection([...words, 'new']).keyBy((w) => w).process(new Report(), 'report').uid('report').sinkTo(collectSink(out))
  await env.execute('report', { restoreFrom: dir, log: () => {} })
  const byWord = new Map(out.map((line) => [line.split(':')[0], line]))
  assert.equal(byWord.size, 1001)
  assert.equal(byWord.get('w0'), 'w0:1::')
  assert.equal(byWord.get('w1'), 'w1:2:x|y:')
  assert.equal(byWord.get('w2'), 'w2:3::k=1')
  assert.equal(byWord.get('w999'), 'w999:1000::')
  assert.equal(byWord.get('new'), 'new:1::')
  for (const [i, word] of words.entries()) assert.equal(byWord.get(word)?.split(':')[1], String(i + 1))
})

test('operator list state written from data reads back split across subtasks; bad input is refused', async () => {
  const dir = join(root, 'lists')
  const handle = await writeSavepoint(dir, {
    operators: [{ uid: 'op', parallelism: 3, operatorState: { states: [{ name: 'buffer', kind: 'list', serializer: Types.number, elements: [1, 2, 3, 4, 5] }] } }],
  })
  assert.equal(handle.metadata.operators[0].subtasks.filter((s) => s !== undefined).length, 3)
  const read = await readSavepoint(dir)
  const elements: number[] = []
  for await (const element of read.readOperatorState<number>('op', 'buffer')) elements.push(element)
  assert.deepEqual(elements.sort(), [1, 2, 3, 4, 5])
  await assert.rejects(writeSavepoint(dir, { operators: [] }), (e: unknown) => e instanceof WeirError && e.code === 'CHECKPOINT_EXISTS')
  await assert.rejects(
    writeSavepoint(join(root, 'twice'), { operators: [{ uid: 'k', parallelism: 1, keyed: { states: [{ name: 's', kind: 'value', entries: [{ key: 'a', value: 1 }, { key: 'a', value: 2 }] }] } }] }),
    (e: unknown) => e instanceof StateError && /'s'/.test(e.message) && /twice/.test(e.message),
  )
})

test('a job restores state written with an older version of a versioned serializer, migrated', async () => {
  const v1 = Types.versioned<number>({ id: 'cents', version: 1, serialize: (n) => Types.string.serialize(String(n)), deserialize: (b) => Number(Types.string.deserialize(b)) })
  const v2 = Types.versioned<number>({ id: 'cents', version: 2, serialize: Types.number.serialize, deserialize: Types.number.deserialize, readVersion: { 1: (b) => Number(Types.string.deserialize(b)) * 100 } })
  const dir = join(root, 'versioned')
  await writeSavepoint(dir, { operators: [{ uid: 'sum', parallelism: 1, keyed: { states: [{ name: 'sum', kind: 'value', serializer: v1, entries: [{ key: 'a', value: 7 }] }] } }] })

  class Sum extends KeyedProcessFunction<string, string, string> {
    private sum!: ValueState<number>
    override open(ctx: RuntimeContext): void {
      this.sum = ctx.getState(new ValueStateDescriptor('sum', v2))
    }
    processElement(key: string, _ctx: KeyedProcessContext<string>, out: Collector<string>): void {
      this.sum.update((this.sum.value() ?? 0) + 1)
      out.collect(`${key}=${this.sum.value()}`)
    }
  }
  const env = StreamEnvironment.create({ parallelism: 2 })
  const out: string[] = []
  env.fromCollection(['a']).keyBy((k) => k).process(new Sum(), 'sum').uid('sum').sinkTo(collectSink(out))
  await env.execute('migrated', { restoreFrom: dir, log: () => {} })
  assert.deepEqual(out, ['a=701'])
  // Read back with the new serializer, the old savepoint's value comes migrated too.
  const values: unknown[] = []
  for await (const { value } of (await readSavepoint(dir)).readKeyedState('sum', 'sum', { valueSerializer: v2 })) values.push(value)
  assert.deepEqual(values, [700])
})
