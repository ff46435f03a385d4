import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { NO_TIMESTAMP } from '../../../src/time/time.ts'
import { GlobalWindow } from '../../../src/time/windows/global-window.ts'
import { GlobalWindows } from '../../../src/time/windows/global-windows.ts'
import { EventTimeSessionWindows, ProcessingTimeSessionWindows } from '../../../src/time/windows/session-windows.ts'
import { SlidingEventTimeWindows, SlidingProcessingTimeWindows } from '../../../src/time/windows/sliding-windows.ts'
import type { TimeWindow } from '../../../src/time/windows/time-window.ts'
import { TumblingEventTimeWindows, TumblingProcessingTimeWindows } from '../../../src/time/windows/tumbling-windows.ts'
import { isMergingAssigner, type WindowAssignerContext } from '../../../src/time/windows/window-assigner.ts'
import { EventTimeTrigger } from '../../../src/time/windows/triggers/event-time-trigger.ts'
import { NeverTrigger } from '../../../src/time/windows/triggers/never-trigger.ts'
import { ProcessingTimeTrigger } from '../../../src/time/windows/triggers/processing-time-trigger.ts'

const at = (now: number): WindowAssignerContext => ({ currentProcessingTime: () => now })
const keys = (windows: TimeWindow[]): string[] => windows.map((w) => w.key())

describe('window assigners', () => {
  it('tumbling event-time windows: one aligned window, offset honoured', () => {
    const a = TumblingEventTimeWindows.of(1000)
    assert.deepEqual(keys(a.assignWindows(null, 2500, at(0))), ['2000,3000'])
    assert.deepEqual(keys(a.assignWindows(null, -1, at(0))), ['-1000,0'])
    assert.deepEqual(keys(TumblingEventTimeWindows.of(1000, 100).assignWindows(null, 2050, at(0))), ['1100,2100'])
    assert.ok(a.isEventTime())
    assert.equal(a.getDefaultTrigger(), EventTimeTrigger.create())
    assert.ok(!isMergingAssigner(a))
  })

  it('tumbling windows refuse bad sizes and records without timestamps', () => {
    assert.throws(() => TumblingEventTimeWindows.of(0), RangeError)
    assert.throws(() => TumblingEventTimeWindows.of(10, 10), RangeError)
    assert.throws(() => TumblingEventTimeWindows.of(10).assignWindows(null, NO_TIMESTAMP, at(0)), /timestamp/)
  })

  it('sliding event-time windows: size/slide windows, latest first', () => {
    const a = SlidingEventTimeWindows.of(1000, 250)
    assert.deepEqual(keys(a.assignWindows(null, 1100, at(0))), ['1000,2000', '750,1750', '500,1500', '250,1250'])
    assert.deepEqual(keys(SlidingEventTimeWindows.of(1000, 300).assignWindows(null, 0, at(0))), ['0,1000', '-300,700', '-600,400', '-900,100'])
    assert.throws(() => SlidingEventTimeWindows.of(1000, 0), RangeError)
    assert.throws(() => SlidingEventTimeWindows.of(1000, 100, 100), RangeError)
  })

  it('session windows: [t, t + gap), merging, dynamic gaps', () => {
    const a = EventTimeSessionWindows.withGap(100)
    assert.deepEqual(keys(a.assignWindows(null, 50, at(0))), ['50,150'])
    assert.ok(isMergingAssigner(a))
    const dynamic = EventTimeSessionWindows.withDynamicGap<{ gap: number }>((e) => e.gap)
    assert.deepEqual(keys(dynamic.assignWindows({ gap: 7 }, 10, at(0))), ['10,17'])
    assert.throws(() => dynamic.assignWindows({ gap: 0 }, 10, at(0)), RangeError)
    assert.throws(() => EventTimeSessionWindows.withGap(-1), RangeError)
  })

  it('processing-time assigners use the clock, not the timestamp', () => {
    assert.deepEqual(keys(TumblingProcessingTimeWindows.of(100).assignWindows(null, NO_TIMESTAMP, at(1234))), ['1200,1300'])
    assert.deepEqual(keys(SlidingProcessingTimeWindows.of(100, 50).assignWindows(null, NO_TIMESTAMP, at(1234))), ['1200,1300', '1150,1250'])
    assert.deepEqual(keys(ProcessingTimeSessionWindows.withGap(10).assignWindows(null, NO_TIMESTAMP, at(1234))), ['1234,1244'])
    assert.ok(!TumblingProcessingTimeWindows.of(100).isEventTime())
    assert.equal(TumblingProcessingTimeWindows.of(100).getDefaultTrigger(), ProcessingTimeTrigger.create())
  })

  it('global windows: one window, never fires by default', () => {
    const a = GlobalWindows.create()
    assert.deepEqual(a.assignWindows(), [GlobalWindow.get()])
    assert.equal(a.getDefaultTrigger(), NeverTrigger.create())
    assert.ok(!a.isEventTime())
  })
})
