import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  EventTimeSessionWindows,
  ProcessWindowFunction,
  SlidingEventTimeWindows,
  StreamEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  collectSink,
  numberSource,
  type AggregateFunction,
  type Collector,
  type DataStream,
  type KeyedStream,
  type ProcessWindowContext,
  type TimeWindow,
  type WindowAssigner,
  type WindowedStream,
} from '../../src/index.ts'
import { groupByWindow, outOfOrderEvent, sessionsOf, sortedJson, WithTimestamp, events, type Ev } from './windows-fixtures.ts'

const N = 12_000
const BOUND = 25

/** [key, start, end, result] of one window. */
type Out = [string, number, number, number]

/** Runs `build` over the generated stream at `parallelism`; returns what it emitted with timestamps. */
async function runJob(parallelism: number, make: (n: number) => Ev, build: (s: KeyedStream<Ev, string>) => DataStream<Out>): Promise<[Out, number][]> {
  const env = StreamEnvironment.create({ parallelism })
  const out: [Out, number][] = []
  const src = env.fromSource(numberSource(0, N - 1, make), WatermarkStrategy.forBoundedOutOfOrderness<Ev>(BOUND).withTimestampAssigner((e) => e.ts), 'src')
  build(src.keyBy((e) => e.key))
    .process(new WithTimestamp<Out>())
    .sinkTo(collectSink(out))
  await env.execute()
  return out
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

/** What each variant computes per window, given all its values. */
const SUM = (values: number[]): number => sum(values)
const MEAN_X100 = (values: number[]): number => Math.round((sum(values) * 100) / values.length)
const MAX_TIMES_COUNT = (values: number[]): number => Math.max(...values) * 1000 + values.length

const meanAggregate: AggregateFunction<Ev, [number, number], number> = {
  createAccumulator: () => [0, 0],
  add: (e, acc) => [acc[0] + e.value, acc[1] + 1],
  getResult: (acc) => Math.round((acc[0] * 100) / acc[1]),
  merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
}

class MaxTimesCount extends ProcessWindowFunction<Ev, Out, string, TimeWindow> {
  process(key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Ev[], out: Collector<Out>): void {
    out.collect([key, ctx.window.start, ctx.window.end, MAX_TIMES_COUNT(elements.map((e) => e.value))])
  }
}

const tag = (key: string, ctx: ProcessWindowContext<TimeWindow>, results: number[], out: Collector<Out>): void => out.collect([key, ctx.window.start, ctx.window.end, results[0]])

/** The three ways to evaluate a window, each with what it computes. */
const variants: [string, (w: WindowedStream<Ev, string, TimeWindow>) => DataStream<Out>, (values: number[]) => number][] = [
  [
    'reduce',
    (w) => w.reduce((a: Ev, b: Ev): Ev => ({ key: a.key, value: a.value + b.value, ts: Math.max(a.ts, b.ts) }), (key: string, ctx: ProcessWindowContext<TimeWindow>, r: Ev[], out: Collector<Out>) => out.collect([key, ctx.window.start, ctx.window.end, r[0].value])),
    SUM,
  ],
  ['aggregate', (w) => w.aggregate(meanAggregate, tag), MEAN_X100],
  ['process', (w) => w.process(new MaxTimesCount()), MAX_TIMES_COUNT],
]

function expected(groups: Iterable<{ key: string; start: number; end: number; values: number[] }>, f: (values: number[]) => number): string[] {
  return sortedJson([...groups].map((g): [Out, number] => [[g.key, g.start, g.end, f(g.values)], g.end - 1]))
}

async function check(name: string, make: (n: number) => Ev, assigner: WindowAssigner<unknown, TimeWindow>, reference: (evs: Ev[]) => Iterable<{ key: string; start: number; end: number; values: number[] }>): Promise<void> {
  const groups = [...reference(events(N, make))]
  assert.ok(groups.length > 50, `${name}: the scenario has windows`)
  for (const [variant, build, f] of variants) {
    const want = expected(groups, f)
    for (const parallelism of [1, 4]) {
      const got = await runJob(parallelism, make, (s) => build(s.window(assigner)))
      assert.deepEqual(sortedJson(got), want, `${name} ${variant} at parallelism ${parallelism}`)
    }
  }
}

describe('event-time windows in jobs agree with a plain loop (out of order, parallelism 1 and 4)', () => {
  it('tumbling windows', async () => {
    const make = (n: number): Ev => outOfOrderEvent(n, 11, 13, 2, BOUND)
    await check('tumbling', make, TumblingEventTimeWindows.of(100), (evs) => groupByWindow(evs, 100, 100).values())
  })

  it('sliding windows', async () => {
    const make = (n: number): Ev => outOfOrderEvent(n, 23, 9, 3, BOUND)
    await check('sliding', make, SlidingEventTimeWindows.of(120, 40), (evs) => groupByWindow(evs, 120, 40).values())
  })

  it('session windows', async () => {
    // Bursts of 40 events then a pause of event time, so sessions end; with 5 keys they also end inside bursts.
    const make = (n: number): Ev => outOfOrderEvent(n, 37, 5, 4, BOUND, 40)
    await check('sessions', make, EventTimeSessionWindows.withGap(30), (evs) => sessionsOf(evs, 30))
  })

  it('tumbling windows with an offset', async () => {
    const make = (n: number): Ev => outOfOrderEvent(n, 5, 7, 2, BOUND)
    await check('offset', make, TumblingEventTimeWindows.of(100, 30), (evs) => [...groupByWindow(evs.map((e) => ({ ...e, ts: e.ts - 30 })), 100, 100).values()].map((g) => ({ ...g, start: g.start + 30, end: g.end + 30 })))
  })
})

describe('assignTimestampsAndWatermarks in the middle of a job', () => {
  it('stamps records for the windows downstream', async () => {
    const make = (n: number): Ev => outOfOrderEvent(n, 3, 5, 2, BOUND)
    const want = expected(groupByWindow(events(2000, make), 100, 100).values(), SUM)
    for (const parallelism of [1, 4]) {
      const env = StreamEnvironment.create({ parallelism })
      const out: [Out, number][] = []
      env
        .fromSource(numberSource(0, 1999, make), WatermarkStrategy.noWatermarks(), 'src')
        .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Ev>(BOUND).withTimestampAssigner((e) => e.ts))
        .keyBy((e) => e.key)
        .window(TumblingEventTimeWindows.of(100))
        .aggregate(
          { createAccumulator: () => 0, add: (e: Ev, acc: number) => acc + e.value, getResult: (acc: number) => acc, merge: (a: number, b: number) => a + b },
          (key: string, ctx: ProcessWindowContext<TimeWindow>, r: number[], o: Collector<Out>) => o.collect([key, ctx.window.start, ctx.window.end, r[0]]),
        )
        .process(new WithTimestamp<Out>())
        .sinkTo(collectSink(out))
      await env.execute()
      assert.deepEqual(sortedJson(out), want, `parallelism ${parallelism}`)
    }
  })
})
