import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  StreamEnvironment,
  TumblingEventTimeWindows,
  SlidingEventTimeWindows,
  WatermarkStrategy,
  collectSink,
  numberSource,
  type Collector,
  type ProcessJoinContext,
} from '../../src/index.ts'
import { events, groupByWindow, outOfOrderEvent, sortedJson, WithTimestamp, type Ev } from './windows-fixtures.ts'

const N = 3000
const BOUND = 20
const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Ev>(BOUND).withTimestampAssigner((e) => e.ts)
const left = (n: number): Ev => outOfOrderEvent(n, 101, 17, 3, BOUND)
const right = (n: number): Ev => outOfOrderEvent(n, 202, 17, 4, BOUND)

function sources(env: StreamEnvironment): [import('../../src/index.ts').DataStream<Ev>, import('../../src/index.ts').DataStream<Ev>] {
  return [env.fromSource(numberSource(0, N - 1, left), strategy, 'left'), env.fromSource(numberSource(0, N - 1, right), strategy, 'right')]
}

describe('joins in jobs agree with a plain loop (parallelism 1 and 4)', () => {
  for (const [lower, upper] of [
    [-15, 10],
    [5, 40],
    [-30, -2],
  ] as const) {
    it(`interval join between(${lower}, ${upper})`, async () => {
      const ls = events(N, left)
      const rs = events(N, right)
      const want: [string, number][] = []
      for (const a of ls) for (const b of rs) if (a.key === b.key && b.ts >= a.ts + lower && b.ts <= a.ts + upper) want.push([`${a.key}:${a.value}@${a.ts}+${b.value}@${b.ts}`, Math.max(a.ts, b.ts)])
      assert.ok(want.length > 500, 'the scenario has pairs')
      for (const parallelism of [1, 4]) {
        const env = StreamEnvironment.create({ parallelism })
        const [l, r] = sources(env)
        const out: [string, number][] = []
        l.keyBy((e) => e.key)
          .intervalJoin(r.keyBy((e) => e.key))
          .between(lower, upper)
          .process((a: Ev, b: Ev, ctx: ProcessJoinContext, o: Collector<string>) => {
            assert.equal(ctx.timestamp(), Math.max(ctx.leftTimestamp(), ctx.rightTimestamp()))
            o.collect(`${a.key}:${a.value}@${a.ts}+${b.value}@${b.ts}`)
          })
          .process(new WithTimestamp<string>())
          .sinkTo(collectSink(out))
        await env.execute()
        assert.deepEqual(sortedJson(out), sortedJson(want), `parallelism ${parallelism}`)
      }
    })
  }

  it('window join of tumbling and sliding windows', async () => {
    const ls = events(N, left)
    const rs = events(N, right)
    for (const [size, slide] of [
      [60, 60],
      [90, 30],
    ]) {
      const gl = groupByWindow(ls, size, slide)
      const gr = groupByWindow(rs, size, slide)
      const want: [string, number][] = []
      for (const [id, g] of gl) {
        const other = gr.get(id)
        if (other) for (const a of g.values) for (const b of other.values) want.push([`${g.key}@${g.start}:${a}+${b}`, g.end - 1])
      }
      assert.ok(want.length > 500)
      for (const parallelism of [1, 4]) {
        const env = StreamEnvironment.create({ parallelism })
        const [l, r] = sources(env)
        const out: [string, number][] = []
        const assigner = size === slide ? TumblingEventTimeWindows.of(size) : SlidingEventTimeWindows.of(size, slide)
        // The window start is not visible to a join function: recover it from the pair's timestamps.
        l.join(r)
          .where((e) => e.key)
          .equalTo((e) => e.key)
          .window(assigner)
          .apply((a: Ev, b: Ev) => ({ key: a.key, a: a.value, b: b.value, ta: a.ts, tb: b.ts }))
          .process(new WithTimestamp<{ key: string; a: number; b: number; ta: number; tb: number }>())
          .map(([p, ts]): [string, number] => [`${p.key}@${ts + 1 - size}:${p.a}+${p.b}`, ts])
          .sinkTo(collectSink(out))
        await env.execute()
        assert.deepEqual(sortedJson(out), sortedJson(want), `size ${size} slide ${slide} parallelism ${parallelism}`)
      }
    }
  })

  it('window co-group sees both sides of each key and window, either possibly empty', async () => {
    const ls = events(N, left)
    const rs = events(N, right)
    const gl = groupByWindow(ls, 50, 50)
    const gr = groupByWindow(rs, 50, 50)
    const want: string[] = []
    for (const id of new Set([...gl.keys(), ...gr.keys()])) {
      const [key, start] = id.split('|')
      const a = gl.get(id)?.values ?? []
      const b = gr.get(id)?.values ?? []
      want.push(`${key}@${start}: ${a.length} ${b.length} ${a.reduce((s, v) => s + v, 0) - b.reduce((s, v) => s + v, 0)}`)
    }
    for (const parallelism of [1, 4]) {
      const env = StreamEnvironment.create({ parallelism })
      const [l, r] = sources(env)
      const out: string[] = []
      l.coGroup(r)
        .where((e) => e.key)
        .equalTo((e) => e.key)
        .window(TumblingEventTimeWindows.of(50))
        .apply((as: Ev[], bs: Ev[], o: Collector<[Ev[], Ev[]]>) => o.collect([as, bs]))
        .process(new WithTimestamp<[Ev[], Ev[]]>())
        .map(([[as, bs], ts]) => {
          const key = (as[0] ?? bs[0]).key
          return `${key}@${ts - 49}: ${as.length} ${bs.length} ${as.reduce((s, e) => s + e.value, 0) - bs.reduce((s, e) => s + e.value, 0)}`
        })
        .sinkTo(collectSink(out))
      await env.execute()
      assert.deepEqual(out.sort(), want.sort(), `parallelism ${parallelism}`)
    }
  })
})
