import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import {
  ExactlyOnceFileSink,
  KeyedProcessFunction,
  MapStateDescriptor,
  StreamEnvironment,
  TumblingEventTimeWindows,
  Types,
  ValueStateDescriptor,
  WatermarkStrategy,
  numberSource,
  readCommittedLines,
  type Collector,
  type KeyedProcessContext,
  type MapState,
  type OnTimerContext,
  type RuntimeContext,
  type ValueState,
} from '../../../src/index.ts'

const RECORDS = 30_000
const root = mkdtempSync(join(tmpdir(), 'weir-sp-'))
after(() => rmSync(root, { recursive: true, force: true }))

interface Event {
  id: number
  key: number
  ts: number
}

/**
 * Counts each key's events per 5 s of event time in MapState and reports a count when an event-time
 * timer says its 5 s are over; a running total in ValueState goes with it. Both only depend on
 * event time, so every run reports the same.
 */
class CountWithTimer extends KeyedProcessFunction<number, Event, string> {
  private counts!: MapState<number, number>
  private total!: ValueState<number>
  override open(ctx: RuntimeContext): void {
    this.counts = ctx.getMapState(new MapStateDescriptor<number, number>('counts', Types.number, Types.number))
    this.total = ctx.getState(new ValueStateDescriptor('total', Types.number))
  }
  processElement(e: Event, ctx: KeyedProcessContext<number>): void {
    const end = Math.floor(e.ts / 5000) * 5000 + 4999
    this.counts.put(end, (this.counts.get(end) ?? 0) + 1)
    ctx.timerService().registerEventTimeTimer(end)
  }
  override onTimer(ts: number, ctx: OnTimerContext<number>, out: Collector<string>): void {
    const n = this.counts.get(ts) ?? 0
    const total = (this.total.value() ?? 0) + n
    this.total.update(total)
    this.counts.remove(ts)
    out.collect(`count,${ctx.getCurrentKey()},${ts},${n},${total}`)
  }
}

function busy(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // slow enough to be stopped part way
  }
}

function build(env: StreamEnvironment, out: string, slow: boolean): void {
  const events = env
    .fromSource(
      numberSource(1, RECORDS, (n): Event => ({ id: n, key: n % 23, ts: n * 3 }), { splits: 12, batch: 50 }),
      WatermarkStrategy.forMonotonousTimestamps<Event>().withTimestampAssigner((e) => e.ts),
      'events',
    )
    .uid('events')
    .map((e) => {
      if (slow) busy(0.02)
      return e
    }, 'pace')
    .uid('pace')
  const keyed = events.keyBy((e) => e.key)
  const windows = keyed
    .window(TumblingEventTimeWindows.of(1000))
    .reduce((a, b) => ({ id: Math.max(a.id, b.id), key: a.key, ts: Math.max(a.ts, b.ts) }))
    .name('window-max')
    .uid('window-max')
    .map((e) => `window,${e.key},${Math.floor(e.ts / 1000)},${e.id}`, 'format')
    .uid('format')
  const counts = keyed.process(new CountWithTimer(), 'count').uid('count')
  windows.union(counts).sinkTo(new ExactlyOnceFileSink<string>(out), 'sink').uid('sink')
}

test('stopped with savepoints at parallelism 2, resumed at 3, 1 and 4: the output of an uninterrupted run', async () => {
  const reference = join(root, 'reference')
  const refEnv = StreamEnvironment.create({ parallelism: 2 })
  refEnv.enableCheckpointing(50)
  build(refEnv, reference, false)
  await refEnv.execute('reference')
  const expected = readCommittedLines(reference).sort()
  assert.ok(expected.length > 1000)

  const out = join(root, 'chain')
  const savepoints = join(root, 'savepoints')
  let from: string | undefined
  const stops: string[] = []
  for (const parallelism of [2, 3, 1, 4]) {
    const env = StreamEnvironment.create({ parallelism })
    env.enableCheckpointing(50, { storage: { directory: join(root, 'checkpoints') } })
    const last = parallelism === 4
    build(env, out, !last)
    const job = env.executeAsync(`p${parallelism}`, { ...(from ? { restoreFrom: from } : {}), log: () => {} })
    if (last) {
      await job.result
      break
    }
    // Let it get part way (windows open, timers pending), then stop with a savepoint.
    await new Promise((r) => setTimeout(r, 150))
    const savepoint = await job.stopWithSavepoint({ targetDirectory: savepoints })
    await job.result
    stops.push(`${parallelism}:${savepoint.checkpointId}`)
    // Windows and timers were in flight: the savepoint holds keyed state of both operators.
    for (const uid of ['window-max', 'count']) {
      const op = savepoint.metadata.operators.find((o) => o.uid === uid)
      assert.ok(op && op.parallelism === parallelism && op.subtasks.some((h) => h !== undefined), `savepoint at parallelism ${parallelism} has no state for '${uid}'`)
    }
    from = savepoint.pointer
  }
  const lines = readCommittedLines(out).sort()
  const missing = expected.filter((l) => !lines.includes(l))
  const extra = lines.filter((l) => !expected.includes(l))
  assert.deepEqual({ missing: missing.slice(0, 10), extra: extra.slice(0, 10), count: lines.length }, { missing: [], extra: [], count: expected.length }, `stops ${stops.join(' ')}`)
})
