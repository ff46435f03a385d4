import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { KeyedProcessFunction, type KeyedProcessContext, type OnTimerContext } from '../../src/api/functions.ts'
import { OutputTag } from '../../src/api/output-tag.ts'
import type { RuntimeContext } from '../../src/api/runtime-context.ts'
import { Types } from '../../src/api/serialization/types.ts'
import type { Collector } from '../../src/operators/output.ts'
import { KeyedProcessOperator } from '../../src/operators/process-operators.ts'
import { ValueStateDescriptor } from '../../src/state/descriptors.ts'
import type { ValueState } from '../../src/state/state.ts'
import { MAX_WATERMARK } from '../../src/time/time.ts'
import { OneInputOperatorTestHarness, record } from './index.ts'

/** A command for the test function: each names a key and says what to do with its timers. */
interface Cmd {
  key: string
  event?: number[]
  processing?: number[]
  deleteEvent?: number[]
  deleteProcessing?: number[]
  /** On firing at this time, register another event-time timer at `then`. */
  chain?: { at: number; then: number }
}

const late = new OutputTag<string>('late')

/** Counts commands per key, registers and deletes the timers they name, and reports each firing. */
class TimerFn extends KeyedProcessFunction<string, Cmd, string> {
  private count!: ValueState<number>
  private chains!: ValueState<{ at: number; then: number }>

  override open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor('count', Types.number))
    this.chains = ctx.getState(new ValueStateDescriptor<{ at: number; then: number }>('chain'))
  }

  processElement(cmd: Cmd, ctx: KeyedProcessContext<string>): void {
    this.count.update((this.count.value() ?? 0) + 1)
    const timers = ctx.timerService()
    const ts = ctx.timestamp()
    if (ts !== undefined && ts <= timers.currentWatermark()) ctx.output(late, `${cmd.key}@${ts}`)
    for (const t of cmd.event ?? []) timers.registerEventTimeTimer(t)
    for (const t of cmd.processing ?? []) timers.registerProcessingTimeTimer(t)
    for (const t of cmd.deleteEvent ?? []) timers.deleteEventTimeTimer(t)
    for (const t of cmd.deleteProcessing ?? []) timers.deleteProcessingTimeTimer(t)
    if (cmd.chain) this.chains.update(cmd.chain)
  }

  override onTimer(timestamp: number, ctx: OnTimerContext<string>, out: Collector<string>): void {
    const key = ctx.getCurrentKey()
    out.collect(`${key}:${ctx.timeDomain()}@${timestamp} count=${this.count.value()} ts=${ctx.timestamp()}`)
    const chain = this.chains.value()
    if (chain && chain.at === timestamp) {
      this.chains.clear()
      ctx.timerService().registerEventTimeTimer(chain.then)
    }
  }
}

const open = (): OneInputOperatorTestHarness<Cmd, string> =>
  new OneInputOperatorTestHarness(() => new KeyedProcessOperator(new TimerFn()), { keySelector: (c: Cmd) => c.key }).open()

describe('KeyedProcessOperator in the harness: event-time timers', () => {
  it('fire in timestamp order on the watermark, with their key current, before the watermark is forwarded', () => {
    const h = open()
    h.processElement({ key: 'a', event: [30, 10] }, 1)
    h.processElement({ key: 'b', event: [20] }, 2)
    h.processElement({ key: 'a' }, 3)
    assert.equal(h.numTimers(), 3)
    h.processWatermark(25)
    assert.deepEqual(h.events, [
      { kind: 'record', value: 'a:event-time@10 count=2 ts=10', timestamp: 10 },
      { kind: 'record', value: 'b:event-time@20 count=1 ts=20', timestamp: 20 },
      { kind: 'watermark', watermark: 25 },
    ])
    assert.equal(h.numTimers(), 1)
    h.processWatermark(30)
    assert.deepEqual(h.output.at(-1), record('a:event-time@30 count=2 ts=30', 30))
    assert.equal(h.numTimers(), 0)
  })

  it('deduplicates a timer registered twice for the same key and time, but not across keys', () => {
    const h = open()
    h.processElement({ key: 'a', event: [10, 10] })
    h.processElement({ key: 'a', event: [10] })
    h.processElement({ key: 'b', event: [10] })
    assert.equal(h.numTimers(), 2)
    h.processWatermark(10)
    assert.deepEqual(h.extractOutputValues().sort(), ['a:event-time@10 count=2 ts=10', 'b:event-time@10 count=1 ts=10'])
  })

  it('does not fire a deleted timer; deleting only touches the current key', () => {
    const h = open()
    h.processElement({ key: 'a', event: [10, 20] })
    h.processElement({ key: 'b', event: [10] })
    h.processElement({ key: 'a', deleteEvent: [10] })
    assert.equal(h.numTimers(), 2)
    h.processWatermark(100)
    assert.deepEqual(h.extractOutputValues(), ['b:event-time@10 count=1 ts=10', 'a:event-time@20 count=2 ts=20'])
  })

  it('fires a timer deleted and registered again once', () => {
    const h = open()
    h.processElement({ key: 'a', event: [10], deleteEvent: [10] })
    h.processElement({ key: 'a', event: [10] })
    h.processWatermark(10)
    assert.deepEqual(h.extractOutputValues(), ['a:event-time@10 count=2 ts=10'])
  })

  it('fires a timer registered by a firing timer within the same watermark', () => {
    const h = open()
    h.processElement({ key: 'a', event: [10], chain: { at: 10, then: 15 } })
    h.processWatermark(20)
    assert.deepEqual(h.extractOutputValues(), ['a:event-time@10 count=1 ts=10', 'a:event-time@15 count=1 ts=15'])
    assert.deepEqual(h.watermarks, [20])
  })

  it('fires a timer registered at or behind the watermark at the next watermark; late records are seen as late', () => {
    const h = open()
    h.processWatermark(50)
    h.processElement({ key: 'a', event: [40] }, 45)
    assert.deepEqual(h.output, [])
    assert.deepEqual(h.sideOutput(late), [record('a@45', 45)])
    h.processWatermark(51)
    assert.deepEqual(h.extractOutputValues(), ['a:event-time@40 count=1 ts=40'])
  })

  it('fires everything on the final watermark', () => {
    const h = open()
    h.processElement({ key: 'a', event: [1e12] })
    h.processWatermark(MAX_WATERMARK)
    assert.deepEqual(h.extractOutputValues(), ['a:event-time@1000000000000 count=1 ts=1000000000000'])
  })
})

describe('KeyedProcessOperator in the harness: processing-time timers', () => {
  it('fire in time order when processing time reaches them; their records have no timestamp', () => {
    const h = open()
    h.processElement({ key: 'a', processing: [300, 100] }, 5)
    h.processElement({ key: 'b', processing: [200] }, 6)
    h.setProcessingTime(99)
    assert.deepEqual(h.output, [])
    h.setProcessingTime(250)
    assert.deepEqual(h.output, [record('a:processing-time@100 count=1 ts=undefined'), record('b:processing-time@200 count=1 ts=undefined')])
    h.setProcessingTime(1000)
    assert.deepEqual(h.extractOutputValues().at(-1), 'a:processing-time@300 count=1 ts=undefined')
    assert.equal(h.numTimers(), 0)
  })

  it('deduplicates and deletes processing-time timers', () => {
    const h = open()
    h.processElement({ key: 'a', processing: [100, 100, 200] })
    h.processElement({ key: 'b', processing: [100] })
    assert.equal(h.numTimers(), 3)
    h.processElement({ key: 'a', deleteProcessing: [100] })
    h.setProcessingTime(500)
    assert.deepEqual(h.extractOutputValues(), ['b:processing-time@100 count=1 ts=undefined', 'a:processing-time@200 count=2 ts=undefined'])
  })

  it('does not fire processing-time timers on watermarks, nor event-time timers on processing time', () => {
    const h = open()
    h.processElement({ key: 'a', processing: [10], event: [10] })
    h.processWatermark(20)
    assert.deepEqual(h.extractOutputValues(), ['a:event-time@10 count=1 ts=10'])
    h.clearOutput()
    h.setProcessingTime(20)
    assert.deepEqual(h.extractOutputValues(), ['a:processing-time@10 count=1 ts=undefined'])
  })

  it('fires a timer registered in the past at the next processing-time change', () => {
    const h = open()
    h.setProcessingTime(100)
    h.processElement({ key: 'a', processing: [50] })
    assert.deepEqual(h.output, [])
    h.setProcessingTime(100)
    assert.deepEqual(h.extractOutputValues(), ['a:processing-time@50 count=1 ts=undefined'])
  })
})

describe('KeyedProcessOperator in the harness: snapshot and restore', () => {
  it('a restored instance produces what the uninterrupted one does (state, event and processing timers)', () => {
    const input: [Cmd, number][] = [
      [{ key: 'a', event: [10, 30], processing: [100] }, 1],
      [{ key: 'b', event: [20], processing: [150, 400] }, 2],
      [{ key: 'c', event: [25] }, 3],
    ]
    const rest = (h: OneInputOperatorTestHarness<Cmd, string>): void => {
      h.processElement({ key: 'a', deleteEvent: [30], event: [35] }, 15)
      h.processWatermark(22)
      h.setProcessingTime(200)
      h.processElement({ key: 'c' }, 23)
      h.processWatermark(MAX_WATERMARK)
      h.setProcessingTime(1000)
    }

    const straight = open()
    for (const [cmd, ts] of input) straight.processElement(cmd, ts)
    straight.processWatermark(12)
    straight.setProcessingTime(50)
    rest(straight)

    const before = open()
    for (const [cmd, ts] of input) before.processElement(cmd, ts)
    before.processWatermark(12)
    before.setProcessingTime(50)
    const state = before.snapshot(1)
    const entries = before.numKeyedStateEntries()
    const timers = before.numTimers()
    const restored = OneInputOperatorTestHarness.restore(() => new KeyedProcessOperator(new TimerFn()), [state], {
      keySelector: (c: Cmd) => c.key,
      initialProcessingTime: 50,
    })
    assert.equal(restored.numKeyedStateEntries(), entries)
    assert.equal(restored.numTimers(), timers)
    // Watermarks are not state: the restored operator sees the same watermark again.
    restored.processWatermark(12)
    rest(restored)

    assert.deepEqual([...before.output, ...restored.output], straight.output)
    assert.deepEqual(restored.sideOutput(late), straight.sideOutput(late))
  })
})

describe('KeyedProcessOperator in the harness: state TTL', () => {
  /** Emits the value stored for the key before this record, then stores the record. */
  class Previous extends KeyedProcessFunction<string, string, string> {
    private last!: ValueState<string>
    override open(ctx: RuntimeContext): void {
      this.last = ctx.getState(new ValueStateDescriptor<string>('last', Types.string).enableTimeToLive({ ttlMs: 100 }))
    }
    processElement(value: string, _ctx: KeyedProcessContext<string>, out: Collector<string>): void {
      out.collect(`${value} after ${this.last.value() ?? 'nothing'}`)
      this.last.update(value)
    }
  }

  it('measures time to live on the harness processing-time clock', () => {
    const h = new OneInputOperatorTestHarness(() => new KeyedProcessOperator(new Previous()), { keySelector: (s: string) => s[0] }).open()
    h.processElement('a1')
    h.setProcessingTime(99)
    h.processElement('a2')
    h.setProcessingTime(199)
    h.processElement('a3')
    assert.deepEqual(h.extractOutputValues(), ['a1 after nothing', 'a2 after a1', 'a3 after nothing'])
  })
})
