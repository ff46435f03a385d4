import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { GlobalWindow, globalWindowSerializer } from '../../../src/time/windows/global-window.ts'
import { TimeWindow, timeWindowSerializer } from '../../../src/time/windows/time-window.ts'

describe('TimeWindow', () => {
  it('is [start, end) with maxTimestamp end - 1', () => {
    const w = new TimeWindow(10, 20)
    assert.equal(w.maxTimestamp(), 19)
    assert.ok(w.equals(new TimeWindow(10, 20)))
    assert.ok(!w.equals(new TimeWindow(10, 21)))
  })

  it('intersects overlapping and touching windows, and covers them', () => {
    const a = new TimeWindow(0, 10)
    assert.ok(a.intersects(new TimeWindow(5, 15)))
    assert.ok(a.intersects(new TimeWindow(10, 15)), 'touching windows merge, as session windows need')
    assert.ok(!a.intersects(new TimeWindow(11, 15)))
    assert.deepEqual(a.cover(new TimeWindow(5, 15)), new TimeWindow(0, 15))
  })

  it('computes window starts with offsets, also before the epoch', () => {
    assert.equal(TimeWindow.getWindowStartWithOffset(12, 0, 5), 10)
    assert.equal(TimeWindow.getWindowStartWithOffset(10, 0, 5), 10)
    assert.equal(TimeWindow.getWindowStartWithOffset(12, 3, 5), 8)
    assert.equal(TimeWindow.getWindowStartWithOffset(-1, 0, 5), -5)
    assert.equal(TimeWindow.getWindowStartWithOffset(-5, 0, 5), -5)
    assert.equal(TimeWindow.getWindowStartWithOffset(-6, 0, 5), -10)
    assert.equal(TimeWindow.getWindowStartWithOffset(1, -2, 5), -2)
  })

  it('merges groups of overlapping windows and reports only real merges', () => {
    const merges: [string[], string][] = []
    TimeWindow.mergeWindows([new TimeWindow(0, 3), new TimeWindow(20, 25), new TimeWindow(2, 5), new TimeWindow(5, 7), new TimeWindow(10, 12), new TimeWindow(10, 12)], (merged, result) =>
      merges.push([merged.map((w) => w.key()).sort(), result.key()]),
    )
    assert.deepEqual(merges, [[['0,3', '2,5', '5,7'], '0,7']])
  })

  it('serializes to 16 bytes and back', () => {
    const w = new TimeWindow(-1_000_000_000_000, 1_700_000_000_123)
    const bytes = timeWindowSerializer.serialize(w)
    assert.equal(bytes.byteLength, 16)
    const back = timeWindowSerializer.deserialize(bytes)
    assert.ok(back instanceof TimeWindow)
    assert.ok(back.equals(w))
    assert.throws(() => timeWindowSerializer.deserialize(new Uint8Array(3)), /16 bytes/)
  })
})

describe('GlobalWindow', () => {
  it('is a singleton without bytes that never ends', () => {
    assert.equal(GlobalWindow.get(), GlobalWindow.get())
    assert.equal(globalWindowSerializer.serialize(GlobalWindow.get()).byteLength, 0)
    assert.equal(globalWindowSerializer.deserialize(new Uint8Array(0)), GlobalWindow.get())
    assert.equal(GlobalWindow.get().maxTimestamp(), Number.MAX_SAFE_INTEGER)
    assert.equal(globalWindowSerializer.id, 'global-window')
    assert.equal(timeWindowSerializer.id, 'time-window')
  })
})
