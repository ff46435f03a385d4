import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OutputTag, ProcessWindowFunction, type Collector, type ProcessWindowContext, ValueStateDescriptor } from '../../../src/index.ts'
import { AbstractWindowOperator } from '../../../src/operators/window/abstract-window-operator.ts'
import { MAX_WATERMARK } from '../../../src/time/time.ts'
import { SlidingEventTimeWindows } from '../../../src/time/windows/sliding-windows.ts'
import type { TimeWindow } from '../../../src/time/windows/time-window.ts'
import { TumblingEventTimeWindows } from '../../../src/time/windows/tumbling-windows.ts'
import { record } from '../../harness/index.ts'
import { recHarness, sorted, sumRec, type Rec } from './window-test-utils.ts'

const averager = {
  createAccumulator: (): [number, number] => [0, 0],
  add: (r: Rec, acc: [number, number]): [number, number] => [acc[0] + r[1], acc[1] + 1],
  getResult: (acc: [number, number]) => acc[0] / acc[1],
  merge: (a: [number, number], b: [number, number]): [number, number] => [a[0] + b[0], a[1] + b[1]],
}

describe('WindowOperator: tumbling event-time windows', () => {
  it('reduce emits one result per key and window at the watermark, stamped window.maxTimestamp', async () => {
    const h = recHarness((s) => s.window(TumblingEventTimeWindows.of(10)).reduce(sumRec))
    h.processElement(['a', 1], 1)
    h.processElement(['a', 2], 9)
    h.processElement(['b', 5], 3)
    h.processElement(['a', 4], 12)
    assert.deepEqual(h.output, [])
    h.processWatermark(8)
    assert.deepEqual(h.output, [])
    h.processWatermark(9)
    assert.deepEqual(sorted(h.output), sorted([record<Rec>(['a', 3], 9), record<Rec>(['b', 5], 9)]))
    assert.deepEqual(h.watermarks, [8, 9])
    h.clearOutput()
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.output, [record<Rec>(['a', 4], 19)])
    // Nothing is left behind: contents and timers of fired windows are gone.
    assert.equal(h.numKeyedStateEntries(), 0)
    assert.equal(h.numTimers(), 0)
    await h.close()
  })

  it('aggregate keeps one accumulator per window and can hand the result to a window function', async () => {
    const h = recHarness((s) =>
      s.window(TumblingEventTimeWindows.of(10)).aggregate(averager, (key: string, ctx: ProcessWindowContext<TimeWindow>, avg: number[], out: Collector<string>) =>
        out.collect(`${key}@${ctx.window.start}=${avg[0]}`),
      ),
    )
    h.processElements([['a', 1], ['a', 2], ['a', 6]], 5)
    // One entry: the accumulator of (a, [0, 10)) - not the three elements.
    assert.equal(h.withCurrentKey('a', () => h.numKeyedStateEntries()), 1)
    h.processWatermark(20)
    assert.deepEqual(h.extractOutputValues(), ['a@0=3'])
    await h.close()
  })

  it('process gets all elements with the key, the window and the clocks', async () => {
    class Describe extends ProcessWindowFunction<Rec, string, string, TimeWindow> {
      process(key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Rec[], out: Collector<string>): void {
        out.collect(`${key} [${ctx.window.start},${ctx.window.end}) wm=${ctx.currentWatermark()} ${elements.map((e) => e[1]).join(',')}`)
      }
    }
    const h = recHarness((s) => s.window(TumblingEventTimeWindows.of(10)).process(new Describe()))
    h.processElement(['k', 3], 13)
    h.processElement(['k', 1], 11)
    h.processWatermark(25)
    assert.deepEqual(h.extractOutputValues(), ['k [10,20) wm=25 3,1'])
    await h.close()
  })

  it('sliding windows put each element in size/slide windows', async () => {
    const h = recHarness((s) => s.window(SlidingEventTimeWindows.of(10, 5)).reduce(sumRec))
    h.processElement(['a', 1], 7)
    h.processElement(['a', 10], 12)
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.output, [record<Rec>(['a', 1], 9), record<Rec>(['a', 11], 14), record<Rec>(['a', 10], 19)])
    await h.close()
  })

  it('window state and global state in a process window function, cleared with the window', async () => {
    const firings = new ValueStateDescriptor<number>('firings')
    const total = new ValueStateDescriptor<number>('total')
    const fn = {
      process(key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Rec[], out: Collector<string>) {
        const perWindow = ctx.windowState().getState(firings)
        perWindow.update((perWindow.value() ?? 0) + 1)
        const global = ctx.globalState().getState(total)
        global.update((global.value() ?? 0) + elements.length)
        out.collect(`${key} ${ctx.window.start} firing=${perWindow.value()} total=${global.value()}`)
      },
      clear(ctx: ProcessWindowContext<TimeWindow>) {
        ctx.windowState().getState(firings).clear()
      },
    }
    const h = recHarness((s) => s.window(TumblingEventTimeWindows.of(10)).allowedLateness(100).process(fn))
    h.processElement(['a', 1], 1)
    h.processWatermark(10)
    h.processElement(['a', 1], 2) // late but within lateness: fires again
    h.processElement(['a', 1], 15)
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.extractOutputValues(), ['a 0 firing=1 total=1', 'a 0 firing=2 total=3', 'a 10 firing=1 total=4'])
    // Only the global total is left: window contents and per-window state went with the windows.
    assert.equal(h.numKeyedStateEntries(), 1)
    await h.close()
  })
})

describe('WindowOperator: lateness', () => {
  it('elements within the allowed lateness fire the window again; beyond it they go to the side output', async () => {
    const late = new OutputTag<Rec>('late')
    const h = recHarness((s) => s.window(TumblingEventTimeWindows.of(10)).allowedLateness(5).sideOutputLateData(late).reduce(sumRec))
    h.processElement(['a', 1], 3)
    h.processWatermark(9)
    assert.deepEqual(h.output, [record<Rec>(['a', 1], 9)])
    h.processElement(['a', 2], 4) // watermark 9 < 9 + 5: a late firing with the updated sum
    assert.deepEqual(h.output, [record<Rec>(['a', 1], 9), record<Rec>(['a', 3], 9)])
    h.processWatermark(14) // the window's cleanup time (9 + 5): its state goes
    assert.equal(h.numKeyedStateEntries(), 0)
    h.processElement(['a', 4], 5) // now beyond the lateness
    assert.deepEqual(h.sideOutput(late), [record<Rec>(['a', 4], 5)])
    assert.equal(h.output.length, 2)
    assert.equal((h.operator as AbstractWindowOperator<string, Rec, Rec, Rec, TimeWindow, never>).numLateRecordsDropped, 0)
    await h.close()
  })

  it('without a late-data tag late elements are dropped and counted', async () => {
    const h = recHarness((s) => s.window(TumblingEventTimeWindows.of(10)).reduce(sumRec))
    h.processElement(['a', 1], 3)
    h.processWatermark(9)
    h.processElement(['a', 2], 4)
    h.processElement(['b', 2], 0)
    h.processElement(['b', 2], 10) // a later window: on time
    assert.deepEqual(h.output, [record<Rec>(['a', 1], 9)])
    assert.equal((h.operator as AbstractWindowOperator<string, Rec, Rec, Rec, TimeWindow, never>).numLateRecordsDropped, 2)
    await h.close()
  })

  it('an element late for some sliding windows still counts in the others', async () => {
    const late = new OutputTag<Rec>('late')
    const h = recHarness((s) => s.window(SlidingEventTimeWindows.of(10, 5)).sideOutputLateData(late).reduce(sumRec))
    h.processWatermark(10)
    h.processElement(['a', 1], 7) // in [0, 10) (late) and [5, 15) (on time)
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.output, [record<Rec>(['a', 1], 14)])
    assert.deepEqual(h.sideOutput(late), [])
    await h.close()
  })
})
