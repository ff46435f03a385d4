import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { KeyedBroadcastProcessFunction, type KeyedBroadcastContext, type ReadOnlyBroadcastContext } from '../../src/api/broadcast-functions.ts'
import type { RuntimeContext } from '../../src/api/runtime-context.ts'
import { Types } from '../../src/api/serialization/types.ts'
import { StateError } from '../../src/errors.ts'
import { KeyedBroadcastProcessOperator } from '../../src/operators/broadcast-operators.ts'
import type { Collector } from '../../src/operators/output.ts'
import { MapStateDescriptor, ValueStateDescriptor } from '../../src/state/descriptors.ts'
import type { ValueState } from '../../src/state/state.ts'
import { KeyedTwoInputHarnessGroup, TwoInputOperatorTestHarness, record, subtaskForKey } from './index.ts'

interface Reading {
  sensor: string
  value: number
}
type Rule = { sensor: string; threshold: number } | { reset: true } | { peek: string }

const RULES = new MapStateDescriptor<string, number>('thresholds', Types.string, Types.number)
const COUNT = new ValueStateDescriptor<number>('alerts', Types.number)

/** Alerts on readings above their sensor's threshold (or the '*' default), counting alerts per sensor. */
class Alerts extends KeyedBroadcastProcessFunction<string, Reading, Rule, string> {
  private count!: ValueState<number>
  override open(ctx: RuntimeContext): void {
    this.count = ctx.getState(COUNT)
  }
  processElement(r: Reading, ctx: ReadOnlyBroadcastContext<string>, out: Collector<string>): void {
    const rules = ctx.getBroadcastState(RULES)
    const threshold = rules.get(r.sensor) ?? rules.get('*')
    if (threshold === undefined || r.value <= threshold) return
    const n = (this.count.value() ?? 0) + 1
    this.count.update(n)
    out.collect(`${ctx.getCurrentKey()} ${r.value}>${threshold} #${n}`)
  }
  processBroadcastElement(rule: Rule, ctx: KeyedBroadcastContext, out: Collector<string>): void {
    if ('reset' in rule) ctx.applyToKeyedState(COUNT, () => this.count.clear())
    else if ('peek' in rule) ctx.getBroadcastState(new MapStateDescriptor<string, number>(rule.peek))
    else {
      ctx.getBroadcastState(RULES).put(rule.sensor, rule.threshold)
      out.collect(`rule ${rule.sensor}=${rule.threshold}`)
    }
  }
}

const factory = (): KeyedBroadcastProcessOperator<string, Reading, Rule, string> =>
  new KeyedBroadcastProcessOperator(new Alerts(), [RULES as MapStateDescriptor<unknown, unknown>])
const bySensor = (r: Reading): string => r.sensor

const open = (): TwoInputOperatorTestHarness<Reading, Rule, string> => new TwoInputOperatorTestHarness(factory, { keySelector: bySensor }).open()

describe('KeyedBroadcastProcessOperator in the harness', () => {
  it('the keyed side reads the broadcast state the broadcast side writes', () => {
    const h = open()
    h.processElement1({ sensor: 'a', value: 100 }, 1)
    h.processElement2({ sensor: '*', threshold: 50 }, 2)
    h.processElement2({ sensor: 'b', threshold: 150 }, 3)
    h.processElement1({ sensor: 'a', value: 100 }, 4)
    h.processElement1({ sensor: 'b', value: 100 }, 5)
    h.processElement1({ sensor: 'b', value: 200 }, 6)
    h.processElement1({ sensor: 'a', value: 60 }, 7)
    assert.deepEqual(h.output, [record('rule *=50', 2), record('rule b=150', 3), record('a 100>50 #1', 4), record('b 200>150 #1', 6), record('a 60>50 #2', 7)])
    assert.equal(h.numKeyedStateEntries(), 2)
  })

  it('applyToKeyedState visits every key with its state current', () => {
    const h = open()
    h.processElement2({ sensor: '*', threshold: 0 })
    for (const sensor of ['a', 'b', 'c', 'a']) h.processElement1({ sensor, value: 1 })
    assert.equal(h.numKeyedStateEntries(), 3)
    h.processElement2({ reset: true })
    assert.equal(h.numKeyedStateEntries(), 0)
    h.clearOutput()
    h.processElement1({ sensor: 'a', value: 1 })
    assert.deepEqual(h.extractOutputValues(), ['a 1>0 #1'])
  })

  it('refuses a broadcast state that was not declared, with an error naming it', () => {
    const h = open()
    assert.throws(
      () => h.processElement2({ peek: 'other' }),
      (e: unknown) => e instanceof StateError && e.message.includes("'other'") && e.message.includes("'thresholds'"),
    )
  })

  it('forwards the smaller of the two input watermarks', () => {
    const h = open()
    h.processWatermark1(10)
    assert.deepEqual(h.watermarks, [])
    h.processWatermark2(5)
    h.processWatermark2(20)
    h.processBothWatermarks(30)
    assert.deepEqual(h.watermarks, [5, 10, 20, 30])
  })

  it('lets the watermark of one input through while the other is idle', () => {
    const h = open()
    h.processWatermark1(10)
    h.processWatermarkStatus(2, true)
    h.processWatermark1(20)
    h.processWatermarkStatus(2, false)
    h.processWatermark1(30)
    assert.deepEqual(h.watermarks, [10, 20])
  })

  for (const [from, to] of [
    [1, 3],
    [2, 3],
    [3, 1],
    [2, 2],
  ] as const) {
    it(`broadcast state reaches every subtask and keyed state its owner, parallelism ${from} -> ${to}`, () => {
      const sensors = Array.from({ length: 12 }, (_, i) => `s${i}`)
      const straight = open()
      const before = KeyedTwoInputHarnessGroup.open(factory, { parallelism: from, keySelector: bySensor })
      for (const t of [straight, before]) {
        t.processElement2({ sensor: '*', threshold: 10 })
        t.processElement2({ sensor: 's3', threshold: 1000 })
        for (const sensor of sensors) t.processElement1({ sensor, value: 50 })
      }
      // Every old subtask saw the rules; only one copy is stored.
      assert.ok(before.harnesses.every((h) => h.operatorBackend.getBroadcastState(RULES).size === 2))
      const states = before.snapshot(1)
      const after = KeyedTwoInputHarnessGroup.open(factory, { parallelism: to, keySelector: bySensor }, states)
      after.harnesses.forEach((h, index) => {
        assert.deepEqual([...h.operatorBackend.getBroadcastState(RULES).entries()].sort(), [
          ['*', 10],
          ['s3', 1000],
        ])
        const owned = sensors.filter((s) => s !== 's3' && subtaskForKey(s, to) === index)
        assert.equal(h.numKeyedStateEntries(), owned.length)
      })
      // Alert counts go on from the restored state; rules apply in every new subtask.
      straight.clearOutput()
      for (const sensor of sensors) {
        straight.processElement1({ sensor, value: 50 })
        after.processElement1({ sensor, value: 50 })
      }
      straight.processElement2({ sensor: 's3', threshold: 0 })
      after.processElement2({ sensor: 's3', threshold: 0 })
      straight.processElement1({ sensor: 's3', value: 1 })
      after.processElement1({ sensor: 's3', value: 1 })
      // The broadcast side's own output comes once per subtask; the alerts once per key.
      const alerts = (values: string[]): string[] => values.filter((v) => !v.startsWith('rule')).sort()
      assert.deepEqual(alerts(after.extractOutputValues()), alerts(straight.extractOutputValues()))
      assert.equal(after.extractOutputValues().filter((v) => v === 'rule s3=0').length, to)
      assert.ok(after.extractOutputValues().includes('s0 50>10 #2'))
      assert.ok(after.extractOutputValues().includes('s3 1>0 #1'))
    })
  }
})
