import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Collector, Evictor, ProcessWindowContext, TimestampedValue } from '../../../src/index.ts'
import { MAX_WATERMARK, NO_TIMESTAMP } from '../../../src/time/time.ts'
import { CountEvictor } from '../../../src/time/windows/evictors/count-evictor.ts'
import { DeltaEvictor } from '../../../src/time/windows/evictors/delta-evictor.ts'
import { removeWhere } from '../../../src/time/windows/evictors/evictor.ts'
import { TimeEvictor } from '../../../src/time/windows/evictors/time-evictor.ts'
import { GlobalWindow, globalWindowSerializer } from '../../../src/time/windows/global-window.ts'
import { ListStateDescriptor } from '../../../src/state/descriptors.ts'
import { GlobalWindows } from '../../../src/time/windows/global-windows.ts'
import type { TimeWindow } from '../../../src/time/windows/time-window.ts'
import { TumblingEventTimeWindows } from '../../../src/time/windows/tumbling-windows.ts'
import { CountTrigger } from '../../../src/time/windows/triggers/count-trigger.ts'
import { recHarness, sumRec, type Rec } from './window-test-utils.ts'

const ctx = { currentProcessingTime: () => 0, currentWatermark: () => 0 }
const tv = (value: number, timestamp: number): TimestampedValue<number> => ({ value, timestamp })
const vals = (elements: TimestampedValue<number>[]): number[] => elements.map((e) => e.value)
const w = GlobalWindow.get()

describe('evictors on their own', () => {
  it('CountEvictor keeps the last maxCount elements, before or after', () => {
    const elements = [tv(1, 1), tv(2, 2), tv(3, 3), tv(4, 4)]
    const before = CountEvictor.of(2)
    before.evictAfter(elements, w, ctx)
    assert.deepEqual(vals(elements), [1, 2, 3, 4])
    before.evictBefore(elements, w, ctx)
    assert.deepEqual(vals(elements), [3, 4])
    const after = CountEvictor.of(1, true)
    after.evictBefore(elements, w, ctx)
    assert.deepEqual(vals(elements), [3, 4])
    after.evictAfter(elements, w, ctx)
    assert.deepEqual(vals(elements), [4])
  })

  it('TimeEvictor keeps the elements within windowSize of the newest timestamp', () => {
    const elements = [tv(1, 10), tv(2, 30), tv(3, 15), tv(4, 21)]
    TimeEvictor.of(10).evictBefore(elements, w, ctx)
    assert.deepEqual(vals(elements), [2, 4])
    const untimed = [tv(1, NO_TIMESTAMP), tv(2, NO_TIMESTAMP)]
    TimeEvictor.of(10).evictBefore(untimed, w, ctx)
    assert.equal(untimed.length, 2)
  })

  it('DeltaEvictor removes elements too far from the last one', () => {
    const elements = [tv(1, 0), tv(8, 0), tv(5, 0), tv(10, 0)]
    DeltaEvictor.of<number, GlobalWindow>(5, (a, b) => Math.abs(a - b)).evictBefore(elements, w, ctx)
    assert.deepEqual(vals(elements), [8, 10])
  })

  it('removeWhere filters in place', () => {
    const elements = [tv(1, 0), tv(2, 0), tv(3, 0)]
    removeWhere(elements, (e) => e.value === 2)
    assert.deepEqual(vals(elements), [1, 3])
  })
})

describe('evicting window operator', () => {
  const values = (_k: string, _c: ProcessWindowContext<TimeWindow | GlobalWindow>, elements: Rec[], out: Collector<string>): void => out.collect(elements.map((e) => e[1]).join(','))

  it('evicts before the window function and keeps only what is left', async () => {
    const h = recHarness((s) => s.window(GlobalWindows.create()).trigger(CountTrigger.of(2)).evictor(CountEvictor.of(3)).process(values))
    for (let i = 1; i <= 6; i++) h.processElement(['a', i])
    assert.deepEqual(h.extractOutputValues(), ['1,2', '2,3,4', '4,5,6'])
    // The evicted elements are gone from state: 3 elements are kept, not 6.
    const kept = h.withCurrentKey('a', (backend) => {
      const state = backend.getListState(new ListStateDescriptor<TimestampedValue<Rec>>('window-contents'), globalWindowSerializer)
      state.setCurrentNamespace(GlobalWindow.get())
      return state.get().map((e) => e.value[1])
    })
    assert.deepEqual(kept, [4, 5, 6])
    await h.close()
  })

  it('evicting after the window function: the function sees everything, the window keeps the rest', async () => {
    const h = recHarness((s) => s.window(GlobalWindows.create()).trigger(CountTrigger.of(2)).evictor(CountEvictor.of(1, true)).process(values))
    for (let i = 1; i <= 5; i++) h.processElement(['a', i])
    assert.deepEqual(h.extractOutputValues(), ['1,2', '2,3,4'])
    await h.close()
  })

  it('a time evictor on event-time windows with reduce and aggregate', async () => {
    const reduce = recHarness((s) => s.window(TumblingEventTimeWindows.of(100)).evictor(TimeEvictor.of(20)).reduce(sumRec))
    const aggregate = recHarness((s) =>
      s
        .window(TumblingEventTimeWindows.of(100))
        .evictor(TimeEvictor.of(20))
        .aggregate({ createAccumulator: () => 0, add: (r: Rec, acc: number) => acc + 1, getResult: (acc: number) => acc, merge: (a: number, b: number) => a + b }),
    )
    for (const h of [reduce, aggregate] as const) {
      h.processElement(['a', 1], 10)
      h.processElement(['a', 2], 75)
      h.processElement(['a', 4], 90)
      h.processElement(['a', 8], 60)
      h.processWatermark(MAX_WATERMARK)
    }
    assert.deepEqual(reduce.extractOutputValues(), [['a', 6]])
    assert.deepEqual(aggregate.extractOutputValues(), [2])
    await reduce.close()
    await aggregate.close()
  })

  it('a custom evictor', async () => {
    const dropOdd: Evictor<Rec, TimeWindow> = {
      evictBefore: (elements) => removeWhere(elements, (e) => e.value[1] % 2 === 1),
      evictAfter: () => {},
    }
    const h = recHarness((s) => s.window(TumblingEventTimeWindows.of(100)).evictor(dropOdd).reduce(sumRec))
    h.processElements([['a', 1], ['a', 2], ['a', 3], ['a', 4]], 5)
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.extractOutputValues(), [['a', 6]])
    await h.close()
  })
})
