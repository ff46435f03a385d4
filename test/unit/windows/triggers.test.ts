import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ReducingStateDescriptor, Types, type Collector, type ProcessWindowContext, type Trigger, type TriggerContext } from '../../../src/index.ts'
import { MAX_WATERMARK } from '../../../src/time/time.ts'
import type { GlobalWindow } from '../../../src/time/windows/global-window.ts'
import { GlobalWindows } from '../../../src/time/windows/global-windows.ts'
import { ProcessingTimeSessionWindows } from '../../../src/time/windows/session-windows.ts'
import type { TimeWindow } from '../../../src/time/windows/time-window.ts'
import { TumblingEventTimeWindows, TumblingProcessingTimeWindows } from '../../../src/time/windows/tumbling-windows.ts'
import { ContinuousEventTimeTrigger } from '../../../src/time/windows/triggers/continuous-event-time-trigger.ts'
import { ContinuousProcessingTimeTrigger } from '../../../src/time/windows/triggers/continuous-processing-time-trigger.ts'
import { CountTrigger } from '../../../src/time/windows/triggers/count-trigger.ts'
import { EventTimeTrigger } from '../../../src/time/windows/triggers/event-time-trigger.ts'
import { PurgingTrigger } from '../../../src/time/windows/triggers/purging-trigger.ts'
import { isFire, isPurge, TriggerResult } from '../../../src/time/windows/triggers/trigger.ts'
import { record } from '../../harness/index.ts'
import { recHarness, sumRec, type Rec } from './window-test-utils.ts'

const values = (_key: string, _ctx: ProcessWindowContext<GlobalWindow>, elements: Rec[], out: Collector<string>): void => out.collect(elements.map((e) => e[1]).join(','))

describe('trigger results', () => {
  it('fire and purge flags', () => {
    assert.deepEqual(
      Object.values(TriggerResult).map((r) => [isFire(r), isPurge(r)]),
      [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ],
    )
  })
})

describe('count windows and CountTrigger', () => {
  it('countWindow(size) fires and purges every size elements per key', async () => {
    const h = recHarness((s) => s.countWindow(3).process(values))
    for (let i = 1; i <= 7; i++) h.processElement(['a', i])
    h.processElement(['b', 100])
    assert.deepEqual(h.extractOutputValues(), ['1,2,3', '4,5,6'])
    // Global windows never end: the open count window stays at the end of input too.
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.extractOutputValues(), ['1,2,3', '4,5,6'])
    await h.close()
  })

  it('countWindow(size, slide) evaluates the last size elements every slide elements', async () => {
    const h = recHarness((s) => s.countWindow(3, 2).reduce(sumRec))
    for (let i = 1; i <= 7; i++) h.processElement(['a', i])
    // Fires after elements 2, 4, 6: sums of [1,2], [2,3,4], [4,5,6].
    assert.deepEqual(h.extractOutputValues(), [['a', 3], ['a', 9], ['a', 15]])
    await h.close()
  })

  it('a count trigger without purging keeps the window growing', async () => {
    const h = recHarness((s) => s.window(GlobalWindows.create()).trigger(CountTrigger.of(2)).process(values))
    for (let i = 1; i <= 5; i++) h.processElement(['a', i])
    assert.deepEqual(h.extractOutputValues(), ['1,2', '1,2,3,4'])
    await h.close()
  })

  it('global windows never fire with their default trigger', async () => {
    const h = recHarness((s) => s.window(GlobalWindows.create()).process(values))
    h.processElement(['a', 1], 5)
    h.processWatermark(MAX_WATERMARK)
    h.setProcessingTime(Number.MAX_SAFE_INTEGER)
    assert.deepEqual(h.output, [])
    await h.close()
  })
})

describe('continuous triggers', () => {
  it('ContinuousEventTimeTrigger fires every interval of event time and at the window end', async () => {
    const h = recHarness((s) => s.window(TumblingEventTimeWindows.of(100)).trigger(ContinuousEventTimeTrigger.of(30)).reduce(sumRec))
    h.processElement(['a', 1], 5)
    h.processWatermark(29)
    assert.deepEqual(h.output, [])
    h.processWatermark(30)
    assert.deepEqual(h.output, [record<Rec>(['a', 1], 99)])
    h.processElement(['a', 2], 50)
    h.processWatermark(95)
    assert.deepEqual(h.extractOutputValues(), [['a', 1], ['a', 3], ['a', 3]]) // at 30, 60, 90
    h.processWatermark(99)
    assert.deepEqual(h.extractOutputValues().length, 4)
    assert.equal(h.numTimers(), 0)
    assert.equal(h.numKeyedStateEntries(), 0)
    await h.close()
  })

  it('PurgingTrigger around a continuous trigger emits each interval separately', async () => {
    const h = recHarness((s) => s.window(TumblingEventTimeWindows.of(100)).trigger(PurgingTrigger.of(ContinuousEventTimeTrigger.of<TimeWindow>(50))).reduce(sumRec))
    h.processElement(['a', 1], 5)
    h.processElement(['a', 2], 10)
    h.processWatermark(50)
    h.processElement(['a', 4], 60)
    h.processWatermark(99)
    assert.deepEqual(h.extractOutputValues(), [['a', 3], ['a', 4]])
    await h.close()
  })

  it('ContinuousProcessingTimeTrigger fires every interval of processing time', async () => {
    const h = recHarness((s) => s.window(GlobalWindows.create()).trigger(ContinuousProcessingTimeTrigger.of(100)).process(values))
    h.setProcessingTime(1010)
    h.processElement(['a', 1])
    h.setProcessingTime(1099)
    assert.deepEqual(h.extractOutputValues(), [])
    h.setProcessingTime(1100)
    assert.deepEqual(h.extractOutputValues(), ['1'])
    h.processElement(['a', 2])
    h.setProcessingTime(1350)
    assert.deepEqual(h.extractOutputValues(), ['1', '1,2', '1,2']) // at 1200 and 1300
    await h.close()
  })
})

describe('processing-time windows', () => {
  it('tumbling processing-time windows fire when the clock passes their end', async () => {
    const h = recHarness((s) => s.window(TumblingProcessingTimeWindows.of(100)).reduce(sumRec))
    h.setProcessingTime(50)
    h.processElement(['a', 1])
    h.processElement(['a', 2])
    h.setProcessingTime(98)
    assert.deepEqual(h.output, [])
    h.setProcessingTime(99) // the window's max timestamp
    assert.deepEqual(h.output, [record<Rec>(['a', 3], 99)])
    h.setProcessingTime(120)
    h.processElement(['a', 4])
    h.setProcessingTime(500)
    assert.deepEqual(h.output, [record<Rec>(['a', 3], 99), record<Rec>(['a', 4], 199)])
    assert.equal(h.numKeyedStateEntries(), 0)
    assert.equal(h.numTimers(), 0)
    await h.close()
  })

  it('processing-time sessions merge on arrival time', async () => {
    const h = recHarness((s) => s.window(ProcessingTimeSessionWindows.withGap(10)).reduce(sumRec))
    h.setProcessingTime(0)
    h.processElement(['a', 1])
    h.setProcessingTime(5)
    h.processElement(['a', 2])
    // [0, 10) and [5, 15) merged into [0, 15), which ends at 14.
    h.setProcessingTime(13)
    assert.deepEqual(h.output, [])
    h.setProcessingTime(14)
    assert.deepEqual(h.output, [record<Rec>(['a', 3], 14)])
    await h.close()
  })
})

describe('custom triggers', () => {
  /** Fires and purges once the sum in a window reaches a threshold; else waits for the window end. */
  class ThresholdTrigger implements Trigger<Rec, TimeWindow> {
    private readonly sum = new ReducingStateDescriptor<number>('sum', (a, b) => a + b, Types.number)
    constructor(private readonly threshold: number) {}
    onElement(element: Rec, _timestamp: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
      const sum = ctx.getPartitionedState(this.sum)
      sum.add(element[1])
      if ((sum.get() ?? 0) >= this.threshold) {
        sum.clear()
        return TriggerResult.FIRE_AND_PURGE
      }
      ctx.registerEventTimeTimer(window.maxTimestamp())
      return TriggerResult.CONTINUE
    }
    onEventTime(time: number, window: TimeWindow): TriggerResult {
      return time === window.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE
    }
    onProcessingTime(): TriggerResult {
      return TriggerResult.CONTINUE
    }
    clear(window: TimeWindow, ctx: TriggerContext): void {
      ctx.getPartitionedState(this.sum).clear()
      ctx.deleteEventTimeTimer(window.maxTimestamp())
    }
  }

  it('a custom trigger with per-window state', async () => {
    const h = recHarness((s) => s.window(TumblingEventTimeWindows.of(100)).trigger(new ThresholdTrigger(10)).reduce(sumRec))
    h.processElement(['a', 4], 1)
    h.processElement(['a', 7], 2)
    h.processElement(['a', 1], 3)
    h.processElement(['b', 1], 3)
    assert.deepEqual(h.extractOutputValues(), [['a', 11]])
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.extractOutputValues(), [['a', 11], ['a', 1], ['b', 1]])
    assert.equal(h.numKeyedStateEntries(), 0)
    await h.close()
  })

  it('a trigger that cannot merge is refused for session windows', () => {
    const notMerging: Trigger<unknown, TimeWindow> = { onElement: () => TriggerResult.CONTINUE, onEventTime: () => TriggerResult.CONTINUE, onProcessingTime: () => TriggerResult.CONTINUE, clear: () => {} }
    assert.throws(
      () => recHarness((s) => s.window(ProcessingTimeSessionWindows.withGap(10)).trigger(notMerging).reduce(sumRec)),
      /cannot merge/,
    )
    assert.ok(EventTimeTrigger.create().canMerge?.())
  })
})
