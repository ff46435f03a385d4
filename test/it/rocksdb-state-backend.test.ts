import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  EventTimeSessionWindows,
  KeyedProcessFunction,
  ProcessWindowFunction,
  StreamEnvironment,
  TumblingEventTimeWindows,
  Types,
  ValueStateDescriptor,
  WatermarkStrategy,
  collectSink,
  numberSource,
  type Collector,
  type KeyedProcessContext,
  type ProcessWindowContext,
  type RuntimeContext,
  type StateBackend,
  type TimeWindow,
  type ValueState,
} from '../../src/index.ts'
import { readCommittedLines } from '../../src/connectors/sinks/exactly-once-file-sink.ts'
import { fixedDelay } from '../../src/runtime/restart-strategy.ts'
import { rocksDBStateBackend } from '../../src/state/rocksdb/index.ts'
import { FailureInjector } from './fault/failure-injector.ts'
import { buildWindowedCountJob } from './fault/windowed-count-job.ts'
import { events, outOfOrderEvent, sortedJson, type Ev } from './windows-fixtures.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-rocksdb-jobs-'))
after(() => rmSync(root, { recursive: true, force: true }))

/** Counts the records of each key and emits the running count. */
class CountPerKey extends KeyedProcessFunction<string, Ev, [string, number]> {
  private count!: ValueState<number>
  override open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor('count', Types.number))
  }
  processElement(event: Ev, _ctx: KeyedProcessContext<string>, out: Collector<[string, number]>): void {
    const n = (this.count.value() ?? 0) + 1
    this.count.update(n)
    out.collect([event.key, n])
  }
}

class SessionSummary extends ProcessWindowFunction<Ev, string, string, TimeWindow> {
  process(key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Ev[], out: Collector<string>): void {
    out.collect(`${key} ${ctx.window.start}-${ctx.window.end} n=${elements.length} max=${Math.max(...elements.map((e) => e.value))}`)
  }
}

const N = 2000
const make = (n: number): Ev => outOfOrderEvent(n, 41, 50, 3, 20, 30)

/** A keyed count, tumbling-window sums and session windows (merging) over the same events. */
async function runJobs(stateBackend: StateBackend | undefined, parallelism: number): Promise<{ counts: string[]; sums: string[]; sessions: string[] }> {
  const env = StreamEnvironment.create({ parallelism, ...(stateBackend ? { stateBackend } : {}) })
  const counts: [string, number][] = []
  const sums: [string, number, number][] = []
  const sessions: string[] = []
  const src = env.fromSource(numberSource(0, N - 1, make), WatermarkStrategy.forBoundedOutOfOrderness<Ev>(20).withTimestampAssigner((e) => e.ts), 'events')
  src.keyBy((e) => e.key).process(new CountPerKey()).sinkTo(collectSink(counts))
  src
    .keyBy((e) => e.key)
    .window(TumblingEventTimeWindows.of(200))
    .aggregate(
      { createAccumulator: () => 0, add: (e: Ev, acc: number) => acc + e.value, getResult: (acc: number) => acc, merge: (a: number, b: number) => a + b },
      (key: string, ctx: ProcessWindowContext<TimeWindow>, r: number[], o: Collector<[string, number, number]>) => o.collect([key, ctx.window.start, r[0]]),
    )
    .sinkTo(collectSink(sums))
  src.keyBy((e) => e.key).window(EventTimeSessionWindows.withGap(40)).process(new SessionSummary()).sinkTo(collectSink(sessions))
  await env.execute()
  return { counts: sortedJson(counts), sums: sortedJson(sums), sessions: sessions.sort() }
}

describe('jobs on the RocksDB state backend', () => {
  it('give the same results as on the heap: a keyed count, tumbling and session windows, at parallelism 1 and 3', async () => {
    const all = events(N, make)
    const plainCounts: [string, number][] = []
    const seen = new Map<string, number>()
    for (const e of all) {
      const n = (seen.get(e.key) ?? 0) + 1
      seen.set(e.key, n)
      plainCounts.push([e.key, n])
    }
    const heap = await runJobs(undefined, 3)
    assert.deepEqual(heap.counts, sortedJson(plainCounts))
    assert.ok(heap.sessions.length > 100, 'the scenario has sessions')
    for (const parallelism of [1, 3]) {
      const rocks = await runJobs(rocksDBStateBackend({ directory: root }), parallelism)
      assert.deepEqual(rocks.counts, heap.counts, `keyed count at parallelism ${parallelism}`)
      assert.deepEqual(rocks.sums, heap.sums, `tumbling windows at parallelism ${parallelism}`)
      assert.deepEqual(rocks.sessions, heap.sessions, `session windows at parallelism ${parallelism}`)
    }
    // Every subtask's instance was disposed with its task, directory included.
    assert.ok(existsSync(root))
    assert.deepEqual(readdirSync(root), [])
  })

  it('keep exactly-once output across injected failures: checkpoints and restores go through RocksDB', async () => {
    const records = 8000
    const reference = join(root, 'reference')
    const env = StreamEnvironment.create({ parallelism: 3 })
    env.enableCheckpointing(5)
    buildWindowedCountJob(env, { records, out: reference })
    await env.execute('reference')
    const expected = readCommittedLines(reference).sort()
    let failures = 0
    for (const seed of [3, 7, 11]) {
      const injector = new FailureInjector(seed, 2, records)
      const failing = StreamEnvironment.create({ parallelism: 3, channelCapacity: 2, batchSize: 64, stateBackend: rocksDBStateBackend({ directory: join(root, 'state') }) })
      failing.enableCheckpointing(5)
      failing.setRestartStrategy(fixedDelay(10, 0))
      const out = join(root, `seed-${seed}`)
      buildWindowedCountJob(failing, { records, out, injector })
      await failing.execute(`seed-${seed}`, { log: () => {} })
      failures += injector.fired.length
      assert.deepEqual(readCommittedLines(out).sort(), expected, `seed ${seed} (failures ${injector.fired.join(', ')})`)
      assert.deepEqual(readdirSync(join(root, 'state')), [], `seed ${seed}: instance directories left behind`)
    }
    assert.ok(failures >= 3, `only ${failures} failures fired`)
  })
})
