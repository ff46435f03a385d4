import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MergingWindowSet, windowPairSerializer } from '../../../src/operators/window/merging-window-set.ts'
import type { ListState } from '../../../src/state/state.ts'
import { EventTimeSessionWindows } from '../../../src/time/windows/session-windows.ts'
import { TimeWindow, timeWindowSerializer } from '../../../src/time/windows/time-window.ts'

/** A list state in memory. */
function memoryList<T>(): ListState<T> & { items: T[] } {
  const s = {
    items: [] as T[],
    get: () => [...s.items],
    add: (v: T) => void s.items.push(v),
    addAll: (vs: Iterable<T>) => void s.items.push(...vs),
    update: (vs: Iterable<T>) => void (s.items = [...vs]),
    clear: () => void (s.items = []),
  }
  return s
}

const tw = (start: number, end: number): TimeWindow => new TimeWindow(start, end)
const key = (w: TimeWindow | undefined): string | undefined => w?.key()

interface Merge {
  result: string
  merged: string[]
  stateResult: string
  mergedState: string[]
}

function adder(set: MergingWindowSet<TimeWindow>, merges: Merge[]): (w: TimeWindow) => TimeWindow {
  return (w) =>
    set.addWindow(w, (result, merged, stateResult, mergedState) =>
      merges.push({ result: result.key(), merged: merged.map((m) => m.key()).sort(), stateResult: stateResult.key(), mergedState: mergedState.map((m) => m.key()).sort() }),
    )
}

describe('MergingWindowSet', () => {
  const assigner = EventTimeSessionWindows.withGap(10)

  it('adds separate windows as their own state windows', () => {
    const set = new MergingWindowSet(assigner, memoryList<[TimeWindow, TimeWindow]>())
    const merges: Merge[] = []
    const add = adder(set, merges)
    assert.equal(key(add(tw(0, 10))), '0,10')
    assert.equal(key(add(tw(20, 30))), '20,30')
    assert.deepEqual(merges, [])
    assert.equal(key(set.getStateWindow(tw(20, 30))), '20,30')
  })

  it('keeps the state in one of the merged windows and reports the others', () => {
    const set = new MergingWindowSet(assigner, memoryList<[TimeWindow, TimeWindow]>())
    const merges: Merge[] = []
    const add = adder(set, merges)
    add(tw(0, 10))
    add(tw(20, 30))
    assert.equal(key(add(tw(8, 22))), '0,30')
    assert.equal(merges.length, 1)
    const [m] = merges
    assert.equal(m.result, '0,30')
    assert.deepEqual(m.merged, ['0,10', '20,30'], 'the new window never had state, so it is not among the merged')
    assert.ok(['0,10', '20,30'].includes(m.stateResult))
    assert.deepEqual(m.mergedState, ['0,10', '20,30'].filter((k) => k !== m.stateResult))
    assert.equal(key(set.getStateWindow(tw(0, 30))), m.stateResult)
    assert.equal(set.getStateWindow(tw(0, 10)), undefined)
  })

  it('a window inside an existing one changes nothing', () => {
    const set = new MergingWindowSet(assigner, memoryList<[TimeWindow, TimeWindow]>())
    const merges: Merge[] = []
    const add = adder(set, merges)
    add(tw(0, 20))
    assert.equal(key(add(tw(5, 15))), '0,20')
    assert.deepEqual(merges, [])
    assert.deepEqual(set.windows().map((w) => w.key()), ['0,20'])
  })

  it('persists only changes, and reads its state back', () => {
    const state = memoryList<[TimeWindow, TimeWindow]>()
    const set = new MergingWindowSet(assigner, state)
    const add = adder(set, [])
    add(tw(0, 10))
    add(tw(5, 15))
    set.persist()
    assert.deepEqual(state.items.map(([w, s]) => [w.key(), s.key()]), [['0,15', '0,10']])
    const again = new MergingWindowSet(assigner, state)
    assert.equal(key(again.getStateWindow(tw(0, 15))), '0,10')
    again.retireWindow(tw(0, 15))
    assert.throws(() => again.retireWindow(tw(0, 15)), /not in the set/)
    again.persist()
    assert.deepEqual(state.items, [])
  })

  it('serializes window pairs', () => {
    const s = windowPairSerializer(timeWindowSerializer)
    const [a, b] = s.deserialize(s.serialize([tw(1, 2), tw(3, 4)]))
    assert.ok(a.equals(tw(1, 2)) && b.equals(tw(3, 4)))
  })
})
