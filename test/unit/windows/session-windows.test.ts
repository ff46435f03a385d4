import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OutputTag, type Collector, type ProcessWindowContext } from '../../../src/index.ts'
import { MAX_WATERMARK } from '../../../src/time/time.ts'
import { EventTimeSessionWindows } from '../../../src/time/windows/session-windows.ts'
import type { TimeWindow } from '../../../src/time/windows/time-window.ts'
import { CountTrigger } from '../../../src/time/windows/triggers/count-trigger.ts'
import { record } from '../../harness/index.ts'
import { recHarness, sumRec, type Rec } from './window-test-utils.ts'

const describeSession = (key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Rec[], out: Collector<string>): void =>
  out.collect(`${key} [${ctx.window.start},${ctx.window.end}) ${elements.map((e) => e[1]).sort((a, b) => a - b).join(',')}`)

describe('WindowOperator: event-time session windows', () => {
  it('elements closer than the gap form one session; a gap ends it', async () => {
    const h = recHarness((s) => s.window(EventTimeSessionWindows.withGap(10)).process(describeSession))
    h.processElement(['a', 1], 0)
    h.processElement(['a', 2], 5)
    h.processElement(['a', 3], 30)
    h.processElement(['a', 4], 14) // extends [0, 15) to [0, 24)
    h.processElement(['b', 5], 1)
    h.processWatermark(23)
    assert.deepEqual(h.extractOutputValues().sort(), ['a [0,24) 1,2,4', 'b [1,11) 5'])
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.extractOutputValues().slice(2), ['a [30,40) 3'])
    assert.equal(h.numKeyedStateEntries(), 0, 'contents, merging-window sets and trigger state are gone')
    assert.equal(h.numTimers(), 0)
    await h.close()
  })

  it('reduce merges the accumulators of merged sessions', async () => {
    const h = recHarness((s) => s.window(EventTimeSessionWindows.withGap(10)).reduce(sumRec))
    h.processElement(['a', 1], 0)
    h.processElement(['a', 10], 20)
    h.processElement(['a', 100], 10) // bridges [0, 10) and [20, 30): touching both
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.output, [record<Rec>(['a', 111], 29)])
    await h.close()
  })

  it('a late element within the lateness bridges two fired sessions into one, which fires again', async () => {
    const late = new OutputTag<Rec>('late')
    const h = recHarness((s) => s.window(EventTimeSessionWindows.withGap(10)).allowedLateness(100).sideOutputLateData(late).process(describeSession))
    h.processElement(['a', 1], 0)
    h.processElement(['a', 2], 25)
    h.processWatermark(40)
    assert.deepEqual(h.extractOutputValues(), ['a [0,10) 1', 'a [25,35) 2'])
    h.clearOutput()
    h.processElement(['a', 3], 12) // [12, 22) touches neither... not yet
    assert.deepEqual(h.extractOutputValues(), ['a [12,22) 3'], 'a late element in a window already past the watermark fires at once')
    h.clearOutput()
    h.processElement(['a', 4], 9) // [9, 19) bridges [0, 10) and [12, 22) into [0, 22)
    assert.deepEqual(h.extractOutputValues(), ['a [0,22) 1,3,4'])
    h.clearOutput()
    h.processElement(['a', 5], 20) // [20, 30) bridges [0, 22) and [25, 35)
    assert.deepEqual(h.extractOutputValues(), ['a [0,35) 1,2,3,4,5'])
    h.clearOutput()
    h.processWatermark(134) // the merged session's cleanup time: 34 + 100
    assert.deepEqual(h.extractOutputValues(), [])
    assert.equal(h.numKeyedStateEntries(), 0)
    assert.equal(h.numTimers(), 0)
    h.processElement(['a', 6], 20) // [20, 30) would be cleaned up at 129: late
    h.processElement(['a', 7], 30) // [30, 40) is kept until 139: a new session, fired at once
    assert.deepEqual(h.sideOutput(late), [record<Rec>(['a', 6], 20)])
    assert.deepEqual(h.extractOutputValues(), ['a [30,40) 7'])
    await h.close()
  })

  it('a late element beyond the lateness that would bridge sessions goes to the side output', async () => {
    const late = new OutputTag<Rec>('late')
    const h = recHarness((s) => s.window(EventTimeSessionWindows.withGap(10)).sideOutputLateData(late).reduce(sumRec))
    h.processElement(['a', 1], 0)
    h.processElement(['a', 2], 15)
    h.processWatermark(30)
    h.processElement(['a', 4], 8)
    assert.deepEqual(h.output, [record<Rec>(['a', 1], 9), record<Rec>(['a', 2], 24)])
    assert.deepEqual(h.sideOutput(late), [record<Rec>(['a', 4], 8)])
    await h.close()
  })

  it('merging triggers merge their state: a count trigger counts across merged sessions', async () => {
    const h = recHarness((s) => s.window(EventTimeSessionWindows.withGap(10)).trigger(CountTrigger.of(3)).process(describeSession))
    h.processElement(['a', 1], 0)
    h.processElement(['a', 2], 30)
    assert.deepEqual(h.extractOutputValues(), [])
    h.processElement(['a', 3], 18) // [18, 28) touches neither
    h.processElement(['a', 4], 9) // merges [0,10), [9,19), [18,28): counts 1 + 1 + 1
    assert.deepEqual(h.extractOutputValues(), ['a [0,28) 1,3,4'])
    await h.close()
  })

  it('dynamic gaps', async () => {
    const h = recHarness((s) => s.window(EventTimeSessionWindows.withDynamicGap<Rec>((r) => r[1])).process(describeSession))
    h.processElement(['a', 20], 0)
    h.processElement(['a', 1], 15)
    h.processElement(['a', 2], 30)
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.extractOutputValues(), ['a [0,20) 1,20', 'a [30,32) 2'])
    await h.close()
  })
})

describe('WindowOperator: per-window state and merging windows', () => {
  it('is refused, as merged-away windows would strand it', async () => {
    const h = recHarness((s) =>
      s.window(EventTimeSessionWindows.withGap(10)).process((_key: string, ctx: ProcessWindowContext<TimeWindow>, _elements: Rec[], out: Collector<string>) => {
        ctx.windowState()
        out.collect('unreachable')
      }),
    )
    h.processElement(['a', 1], 0)
    assert.throws(() => h.processWatermark(MAX_WATERMARK), /not available with merging windows/)
    await h.close()
  })
})
