import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { KeyedCoProcessFunction, type KeyedProcessContext, type OnTimerContext } from '../../src/api/functions.ts'
import type { RuntimeContext } from '../../src/api/runtime-context.ts'
import { KeyedCoProcessOperator } from '../../src/operators/co-process-operators.ts'
import type { Collector } from '../../src/operators/output.ts'
import { ValueStateDescriptor } from '../../src/state/descriptors.ts'
import type { ValueState } from '../../src/state/state.ts'
import { MAX_WATERMARK } from '../../src/time/time.ts'
import { KeyedTwoInputHarnessGroup, TwoInputOperatorTestHarness, record } from './index.ts'

interface Order {
  id: number
  amount: number
}
interface Payment {
  order: number
  paid: number
}

/** Matches orders with payments by order id; an order unpaid at its deadline is reported. */
class Match extends KeyedCoProcessFunction<number, Order, Payment, string> {
  private order!: ValueState<Order>
  private payment!: ValueState<Payment>
  override open(ctx: RuntimeContext): void {
    this.order = ctx.getState(new ValueStateDescriptor<Order>('order'))
    this.payment = ctx.getState(new ValueStateDescriptor<Payment>('payment'))
  }
  processElement1(o: Order, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    const p = this.payment.value()
    if (p) this.emit(o, p, out)
    else {
      this.order.update(o)
      ctx.timerService().registerEventTimeTimer(ctx.timestamp()! + 100)
    }
  }
  processElement2(p: Payment, _ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    const o = this.order.value()
    if (o) this.emit(o, p, out)
    else this.payment.update(p)
  }
  override onTimer(timestamp: number, ctx: OnTimerContext<number>, out: Collector<string>): void {
    if (this.order.value()) out.collect(`unpaid ${ctx.getCurrentKey()} at ${timestamp}`)
  }
  private emit(o: Order, p: Payment, out: Collector<string>): void {
    this.order.clear()
    this.payment.clear()
    out.collect(`order ${o.id} ${p.paid === o.amount ? 'paid' : 'mismatch'}`)
  }
}

const factory = (): KeyedCoProcessOperator<number, Order, Payment, string> => new KeyedCoProcessOperator(new Match())
const options = { keySelector: (o: Order) => o.id, keySelector2: (p: Payment) => p.order }

describe('KeyedCoProcessOperator in the harness', () => {
  it('shares keyed state and timers between the two inputs', () => {
    const h = new TwoInputOperatorTestHarness(factory, options).open()
    h.processElement1({ id: 1, amount: 10 }, 0)
    h.processElement2({ order: 2, paid: 5 }, 1)
    h.processElement1({ id: 2, amount: 6 }, 2)
    h.processElement2({ order: 1, paid: 10 }, 3)
    h.processElement1({ id: 3, amount: 1 }, 4)
    h.processBothWatermarks(MAX_WATERMARK)
    assert.deepEqual(h.output, [record('order 2 mismatch', 2), record('order 1 paid', 3), record('unpaid 3 at 104', 104)])
  })

  it('routes both inputs by key after a rescale from 2 to 3', () => {
    const ids = Array.from({ length: 30 }, (_, i) => i)
    const before = KeyedTwoInputHarnessGroup.open(factory, { parallelism: 2, ...options })
    for (const id of ids) {
      if (id % 2 === 0) before.processElement1({ id, amount: id }, id)
      else before.processElement2({ order: id, paid: id }, id)
    }
    const after = KeyedTwoInputHarnessGroup.open(factory, { parallelism: 3, ...options }, before.snapshot(1))
    assert.equal(after.numKeyedStateEntries(), 30)
    assert.equal(after.numTimers(), 15)
    for (const id of ids) {
      if (id % 2 === 1) after.processElement1({ id, amount: id }, 50)
      else if (id % 3 !== 0) after.processElement2({ order: id, paid: id }, 50)
    }
    after.processBothWatermarks(MAX_WATERMARK)
    const expected = ids.map((id) => (id % 2 === 0 && id % 3 === 0 ? `unpaid ${id} at ${id + 100}` : `order ${id} paid`))
    assert.deepEqual(after.extractOutputValues().sort(), expected.sort())
    assert.equal(after.numKeyedStateEntries(), 5)
  })
})
