import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  EventTimeSessionWindows,
  OutputTag,
  StreamEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  collectSink,
  collectionSource,
  type Collector,
  type ProcessWindowContext,
  type TimeWindow,
  type WatermarkGenerator,
} from '../../src/index.ts'
import { mix, sortedJson, WithTimestamp } from './windows-fixtures.ts'

/** An event; `watermark` makes the source emit that watermark just before the event. */
interface Ev {
  key: string
  value: number
  ts: number
  watermark?: number
}

/** Emits the watermarks the events carry, and nothing periodically: lateness is exact. */
const punctuated = (): WatermarkGenerator<Ev> => ({
  onEvent: (event, _ts, out) => {
    if (event.watermark !== undefined) out.emitWatermark(event.watermark)
  },
  onPeriodicEmit: () => {},
})

const strategy = WatermarkStrategy.forGenerator<Ev>(punctuated).withTimestampAssigner((e) => e.ts)

/**
 * A stream where about a fifth of the events are late, by up to 3 window sizes, and a watermark
 * (the largest timestamp so far minus 10) comes with every fourth event.
 */
function lateStream(n: number, seed: number): Ev[] {
  const out: Ev[] = []
  let max = 0
  for (let i = 0; i < n; i++) {
    const late = mix(i, seed) % 5 === 0
    const ts = Math.max(0, i * 5 - (late ? mix(i, seed + 1) % 300 : mix(i, seed + 1) % 10))
    const e: Ev = { key: `k${mix(i, seed + 2) % 4}`, value: 1 + (mix(i, seed + 3) % 50), ts }
    if (i % 4 === 0 && max > 0) e.watermark = max - 10
    max = Math.max(max, ts)
    out.push(e)
  }
  return out
}

const SIZE = 100

/**
 * Tumbling sums with allowed lateness, as a plain loop over the same sequence of watermarks and
 * events: windows fire when the watermark passes their end, an element for a fired window still
 * within the lateness fires it again at once, an element beyond it goes to the late output.
 */
function reference(evs: readonly Ev[], lateness: number): { main: [string, number, number][]; late: Ev[] } {
  const windows = new Map<string, { key: string; start: number; sum: number; fired: boolean }>()
  const main: [string, number, number][] = []
  const late: Ev[] = []
  let watermark = Number.NEGATIVE_INFINITY
  const advance = (wm: number): void => {
    if (wm <= watermark) return
    watermark = wm
    for (const [id, w] of windows) {
      const maxTimestamp = w.start + SIZE - 1
      if (!w.fired && maxTimestamp <= wm) {
        main.push([w.key, w.start, w.sum])
        w.fired = true
      }
      if (maxTimestamp + lateness <= wm) windows.delete(id)
    }
  }
  for (const e of evs) {
    if (e.watermark !== undefined) advance(e.watermark)
    const start = e.ts - (e.ts % SIZE)
    const maxTimestamp = start + SIZE - 1
    if (maxTimestamp + lateness <= watermark) {
      late.push(e)
      continue
    }
    const id = `${e.key}|${start}`
    let w = windows.get(id)
    if (!w) windows.set(id, (w = { key: e.key, start, sum: 0, fired: false }))
    w.sum += e.value
    if (maxTimestamp <= watermark) {
      main.push([w.key, w.start, w.sum])
      w.fired = true
    }
  }
  advance(Number.POSITIVE_INFINITY)
  return { main, late }
}

describe('late data in jobs (explicit watermarks)', () => {
  const evs = lateStream(3000, 99)

  for (const lateness of [0, 150]) {
    for (const parallelism of [1, 4]) {
      it(`lateness ${lateness} at parallelism ${parallelism}: late firings and the late-data output match a plain loop`, async () => {
        const want = reference(evs, lateness)
        assert.ok(want.late.length > 50, 'the scenario has late elements beyond the lateness')
        if (lateness > 0) assert.ok(want.main.length > new Set(want.main.map(([k, s]) => `${k}|${s}`)).size + 50, 'and late firings')
        const env = StreamEnvironment.create({ parallelism })
        const lateTag = new OutputTag<Ev>('late')
        const main: [[string, number, number], number][] = []
        const lateOut: Ev[] = []
        const sums = env
          .fromSource(collectionSource(evs), strategy, 'src')
          .keyBy((e) => e.key)
          .window(TumblingEventTimeWindows.of(SIZE))
          .allowedLateness(lateness)
          .sideOutputLateData(lateTag)
          .aggregate(
            { createAccumulator: () => 0, add: (e: Ev, acc: number) => acc + e.value, getResult: (acc: number) => acc, merge: (a: number, b: number) => a + b },
            (key: string, ctx: ProcessWindowContext<TimeWindow>, r: number[], out: Collector<[string, number, number]>) => out.collect([key, ctx.window.start, r[0]]),
          )
        sums.getSideOutput(lateTag).sinkTo(collectSink(lateOut))
        sums.process(new WithTimestamp<[string, number, number]>()).sinkTo(collectSink(main))
        await env.execute()
        assert.deepEqual(sortedJson(main), sortedJson(want.main.map((m) => [m, m[1] + SIZE - 1])))
        assert.deepEqual(sortedJson(lateOut), sortedJson(want.late))
      })
    }
  }

  it('a late event within the lateness bridges two sessions in a job', async () => {
    const seq: Ev[] = [
      { key: 'a', value: 1, ts: 0 },
      { key: 'a', value: 2, ts: 25 },
      { key: 'b', value: 7, ts: 5 },
      { key: 'a', value: 9, ts: 100, watermark: 60 }, // sessions [0,10), [25,35) and b's [5,15) fire
      { key: 'a', value: 4, ts: 12, watermark: 70 }, // [12,22): a session of its own, fired at once
      { key: 'a', value: 8, ts: 8 }, // [8,18) bridges [0,10) and [12,22): [0,22)
      { key: 'a', value: 16, ts: 20 }, // [20,30) bridges [0,22) and [25,35): [0,35)
      { key: 'a', value: 32, ts: 1, watermark: 200 }, // within [0,35), but its lateness ended at 34 + 100 = 134
    ]
    for (const parallelism of [1, 3]) {
      const env = StreamEnvironment.create({ parallelism })
      const lateTag = new OutputTag<Ev>('late')
      const out: string[] = []
      const lateOut: Ev[] = []
      const sessions = env
        .fromSource(collectionSource(seq), strategy, 'src')
        .keyBy((e) => e.key)
        .window(EventTimeSessionWindows.withGap(10))
        .allowedLateness(100)
        .sideOutputLateData(lateTag)
        .process((key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Ev[], o: Collector<string>) =>
          o.collect(`${key} [${ctx.window.start},${ctx.window.end}) ${elements.reduce((s, e) => s + e.value, 0)}`),
        )
      sessions.sinkTo(collectSink(out))
      sessions.getSideOutput(lateTag).sinkTo(collectSink(lateOut))
      await env.execute()
      assert.deepEqual(out.sort(), ['a [0,10) 1', 'a [0,22) 13', 'a [0,35) 31', 'a [100,110) 9', 'a [12,22) 4', 'a [25,35) 2', 'b [5,15) 7'].sort(), `parallelism ${parallelism}`)
      assert.deepEqual(lateOut, [seq[7]])
    }
  })
})
