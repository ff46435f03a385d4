import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OutputTag, type Collector, type DataStream, type KeyedStream, type ProcessWindowContext } from '../../../src/index.ts'
import type { OneInputStreamOperator } from '../../../src/operators/stream-operator.ts'
import { MAX_WATERMARK } from '../../../src/time/time.ts'
import { EventTimeSessionWindows } from '../../../src/time/windows/session-windows.ts'
import { SlidingEventTimeWindows } from '../../../src/time/windows/sliding-windows.ts'
import type { TimeWindow } from '../../../src/time/windows/time-window.ts'
import { TumblingEventTimeWindows, TumblingProcessingTimeWindows } from '../../../src/time/windows/tumbling-windows.ts'
import { ContinuousEventTimeTrigger } from '../../../src/time/windows/triggers/continuous-event-time-trigger.ts'
import { KeyedHarnessGroup, type EmittedRecord } from '../../harness/index.ts'
import { byKey, operatorFactory, sorted, sumRec, type Rec } from './window-test-utils.ts'

type Step = { kind: 'element'; value: Rec; timestamp: number } | { kind: 'watermark'; watermark: number } | { kind: 'time'; time: number }

/** A small seeded generator (mulberry32), so the streams are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Out-of-order elements of 7 keys with a watermark (max seen - bound) every few elements, and some
 * elements later than the bound: late or within the lateness of the tests.
 */
function eventTimeSteps(seed: number, n: number): Step[] {
  const rnd = random(seed)
  const steps: Step[] = []
  let max = 0
  for (let i = 0; i < n; i++) {
    const late = rnd() < 0.05
    const timestamp = Math.max(0, i * 3 - Math.floor(rnd() * (late ? 80 : 15)))
    max = Math.max(max, timestamp)
    steps.push({ kind: 'element', value: [`k${Math.floor(rnd() * 7)}`, 1 + Math.floor(rnd() * 100)], timestamp })
    if (i % 5 === 4) steps.push({ kind: 'watermark', watermark: max - 16 })
  }
  return steps
}

interface Result<OUT> {
  main: EmittedRecord<OUT>[]
  late: EmittedRecord<Rec>[]
}

const late = new OutputTag<Rec>('late')

function feed<OUT>(group: KeyedHarnessGroup<Rec, OUT>, steps: readonly Step[]): void {
  for (const step of steps) {
    if (step.kind === 'element') group.processElement(step.value, step.timestamp)
    else if (step.kind === 'watermark') group.processWatermark(step.watermark)
    else group.setProcessingTime(step.time)
  }
}

async function uninterrupted<OUT>(factory: () => OneInputStreamOperator<Rec, OUT>, steps: readonly Step[], end: Step[]): Promise<Result<OUT>> {
  const group = KeyedHarnessGroup.open(factory, { parallelism: 1, keySelector: byKey })
  feed(group, [...steps, ...end])
  const result = { main: sorted(group.output), late: sorted(group.sideOutput(late)) }
  await group.close()
  return result
}

/** Runs the first `cut` steps at `before` subtasks, snapshots, restores at `after` subtasks, runs the rest. */
async function interrupted<OUT>(factory: () => OneInputStreamOperator<Rec, OUT>, steps: readonly Step[], end: Step[], cut: number, before: number, after: number): Promise<Result<OUT>> {
  const first = KeyedHarnessGroup.open(factory, { parallelism: before, keySelector: byKey })
  feed(first, steps.slice(0, cut))
  const snapshot = first.snapshot(1)
  const main = [...first.output]
  const lateOut = [...first.sideOutput(late)]
  const lastTime = [...steps.slice(0, cut)].reverse().find((s) => s.kind === 'time')
  // Whatever the first run does after the snapshot is lost, as in a failure.
  feed(first, steps.slice(cut))
  await first.close()
  const second = KeyedHarnessGroup.open(factory, { parallelism: after, keySelector: byKey, initialProcessingTime: lastTime?.kind === 'time' ? lastTime.time : 0 }, snapshot)
  feed(second, [...steps.slice(cut), ...end])
  const result = { main: sorted([...main, ...second.output]), late: sorted([...lateOut, ...second.sideOutput(late)]) }
  await second.close()
  return result
}

async function checkRestores<OUT>(name: string, build: (s: KeyedStream<Rec, string>) => DataStream<OUT>, steps: Step[], end: Step[] = [{ kind: 'watermark', watermark: MAX_WATERMARK }]): Promise<void> {
  const factory = operatorFactory(byKey, build)
  const expected = await uninterrupted(factory, steps, end)
  assert.ok(expected.main.length > 10, `${name}: the scenario emits something`)
  for (const cut of [Math.floor(steps.length / 3), Math.floor(steps.length / 2) + 1]) {
    for (const [before, after] of [
      [2, 2],
      [2, 3],
      [3, 1],
    ]) {
      const actual = await interrupted(factory, steps, end, cut, before, after)
      assert.deepEqual(actual, expected, `${name}: cut at step ${cut}, parallelism ${before} -> ${after}`)
    }
  }
}

const describeWindow = (key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Rec[], out: Collector<string>): void =>
  out.collect(`${key} [${ctx.window.start},${ctx.window.end}) ${elements.map((e) => e[1]).sort((a, b) => a - b).join(',')}`)

describe('window operators: snapshot mid-window and restore at the same and other parallelism', () => {
  const steps = eventTimeSteps(42, 400)

  it('tumbling reduce with lateness and a late-data output', async () => {
    await checkRestores('tumbling', (s) => s.window(TumblingEventTimeWindows.of(30)).allowedLateness(20).sideOutputLateData(late).reduce(sumRec), steps)
  })

  it('sliding aggregate', async () => {
    const count = { createAccumulator: () => 0, add: (_r: Rec, acc: number) => acc + 1, getResult: (acc: number) => acc, merge: (a: number, b: number) => a + b }
    await checkRestores('sliding', (s) => s.window(SlidingEventTimeWindows.of(40, 10)).sideOutputLateData(late).aggregate(count, (key: string, ctx: ProcessWindowContext<TimeWindow>, n: number[], out: Collector<string>) => out.collect(`${key}@${ctx.window.start}:${n[0]}`)), steps)
  })

  it('session process with lateness: merging-window sets survive', async () => {
    await checkRestores('sessions', (s) => s.window(EventTimeSessionWindows.withGap(12)).allowedLateness(30).sideOutputLateData(late).process(describeWindow), steps)
  })

  it('continuous trigger: trigger state and its timers survive', async () => {
    await checkRestores('continuous', (s) => s.window(TumblingEventTimeWindows.of(90)).trigger(ContinuousEventTimeTrigger.of(20)).process(describeWindow), steps)
  })

  it('sliding count windows with an evictor', async () => {
    await checkRestores('count', (s) => s.countWindow(4, 3).reduce(sumRec), steps)
  })

  it('processing-time windows: their timers fire after the restore', async () => {
    const rnd = random(7)
    const timed: Step[] = []
    for (let i = 0; i < 300; i++) {
      if (i % 4 === 0) timed.push({ kind: 'time', time: i * 5 })
      timed.push({ kind: 'element', value: [`k${Math.floor(rnd() * 5)}`, i], timestamp: 0 })
    }
    await checkRestores('processing time', (s) => s.window(TumblingProcessingTimeWindows.of(70)).reduce(sumRec), timed, [{ kind: 'time', time: 10_000 }])
  })
})
