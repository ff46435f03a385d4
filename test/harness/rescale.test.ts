import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { KeyedProcessFunction, type KeyedProcessContext, type OnTimerContext } from '../../src/api/functions.ts'
import type { RuntimeContext } from '../../src/api/runtime-context.ts'
import { Types } from '../../src/api/serialization/types.ts'
import type { OperatorSubtaskState } from '../../src/checkpoint/operator-subtask-state.ts'
import { KeyedReduceOperator } from '../../src/operators/basic-operators.ts'
import type { Collector } from '../../src/operators/output.ts'
import { KeyedProcessOperator } from '../../src/operators/process-operators.ts'
import { AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, ValueStateDescriptor } from '../../src/state/descriptors.ts'
import { VOID_NAMESPACE } from '../../src/state/keyed-state-backend.ts'
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../../src/state/state.ts'
import { MAX_WATERMARK } from '../../src/time/time.ts'
import { KeyedHarnessGroup, OneInputOperatorTestHarness, subtaskForKey, type EmittedRecord } from './index.ts'

interface Ev {
  key: string
  n: number
}
type Out = [key: string, value: number, time: number]

/**
 * Sums per key and tumbling 10 ms window, emitting the sum when the window's event-time timer
 * fires; also a processing-time "ping" per key 1000 ms after each record (deduplicated by time).
 */
class WindowSum extends KeyedProcessFunction<string, Ev, Out> {
  private sum!: ValueState<number>
  override open(ctx: RuntimeContext): void {
    this.sum = ctx.getState(new ValueStateDescriptor('sum', Types.number))
  }
  processElement(e: Ev, ctx: KeyedProcessContext<string>): void {
    this.sum.update((this.sum.value() ?? 0) + e.n)
    const ts = ctx.timestamp()!
    ctx.timerService().registerEventTimeTimer(Math.floor(ts / 10) * 10 + 9)
    ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 1000)
  }
  override onTimer(timestamp: number, ctx: OnTimerContext<string>, out: Collector<Out>): void {
    if (ctx.timeDomain() === 'processing-time') {
      out.collect([ctx.getCurrentKey(), -1, timestamp])
      return
    }
    out.collect([ctx.getCurrentKey(), this.sum.value() ?? 0, timestamp])
    this.sum.clear()
  }
}

const KEYS = 20
const factory = (): KeyedProcessOperator<string, Ev, Out> => new KeyedProcessOperator(new WindowSum())
const byKey = (e: Ev): string => e.key

/** What both a single harness and a group accept. */
interface Target {
  processElement(value: Ev, timestamp?: number): void
  processWatermark(watermark: number): void
  setProcessingTime(time: number): void
}

/** Leaves every key with one pending event-time timer and two processing-time timers. */
function phase1(t: Target): void {
  for (let i = 0; i < 20; i++) t.processElement({ key: `k${i % KEYS}`, n: i }, i)
  t.processWatermark(19)
  t.setProcessingTime(500)
  for (let i = 20; i < 40; i++) t.processElement({ key: `k${i % KEYS}`, n: i }, i)
}

function phase2(t: Target): void {
  for (let i = 40; i < 80; i++) t.processElement({ key: `k${i % KEYS}`, n: i }, i)
  t.processWatermark(49)
  t.setProcessingTime(1200)
  t.processWatermark(MAX_WATERMARK)
  t.setProcessingTime(5000)
}

const sorted = (records: EmittedRecord<Out>[]): EmittedRecord<Out>[] =>
  [...records].sort((a, b) => a.value[0].localeCompare(b.value[0]) || a.value[2] - b.value[2] || a.value[1] - b.value[1])

function uninterrupted(): EmittedRecord<Out>[] {
  const h = new OneInputOperatorTestHarness(factory, { keySelector: byKey }).open()
  phase1(h)
  phase2(h)
  return h.output
}

/** Checks that every subtask holds exactly the keys it owns, each with its three pending timers. */
function assertPlacement(group: KeyedHarnessGroup<Ev, Out>): void {
  let keys = 0
  group.harnesses.forEach((h, index) => {
    const owned = [...h.keyedBackend!.getKeys('sum', VOID_NAMESPACE)] as string[]
    for (const key of owned) assert.equal(subtaskForKey(key, group.parallelism), index, `key ${key} restored into subtask ${index}`)
    const expected = Array.from({ length: KEYS }, (_, i) => `k${i}`).filter((k) => subtaskForKey(k, group.parallelism) === index)
    assert.deepEqual(owned.sort(), expected.sort())
    assert.equal(h.numKeyedStateEntries(), expected.length)
    assert.equal(h.numTimers(), 3 * expected.length)
    keys += owned.length
  })
  assert.equal(keys, KEYS)
}

describe('rescaling keyed state and timers through the harness', () => {
  const expected = sorted(uninterrupted())

  it('the uninterrupted run is what the test expects it to be', () => {
    const windows = expected.filter((r) => r.value[1] >= 0)
    const pings = expected.filter((r) => r.value[1] < 0)
    assert.equal(windows.reduce((s, r) => s + r.value[1], 0), (79 * 80) / 2)
    // Records arrive at processing time 0 or 500 only, so pings are due at 1000 and 1500.
    assert.deepEqual(new Set(pings.map((r) => r.value[2])), new Set([1000, 1500]))
    assert.ok(windows.every((r) => r.timestamp === r.value[2]))
    assert.ok(pings.every((r) => r.timestamp === undefined))
  })

  for (const parallelism of [1, 2, 3]) {
    it(`parallelism 1 -> ${parallelism}: same total output as without the restore`, async () => {
      const before = new OneInputOperatorTestHarness(factory, { keySelector: byKey }).open()
      phase1(before)
      const states = [before.snapshot(1)]
      await before.close()

      const group = KeyedHarnessGroup.open(factory, { parallelism, keySelector: byKey, initialProcessingTime: 500 }, states)
      assert.ok(group.harnesses.every((h) => h.isRestored))
      assertPlacement(group)
      phase2(group)
      assert.deepEqual(sorted([...before.output, ...group.output]), expected)
      assert.equal(group.numTimers(), 0)
      await group.close()
    })
  }

  it('parallelism 3 -> 2 -> 3, with a snapshot in each', async () => {
    const first = KeyedHarnessGroup.open(factory, { parallelism: 3, keySelector: byKey })
    phase1(first)
    const states: OperatorSubtaskState[] = first.snapshot(1)
    assert.equal(states.length, 3)

    const second = KeyedHarnessGroup.open(factory, { parallelism: 2, keySelector: byKey, initialProcessingTime: 500 }, states)
    assertPlacement(second)
    for (let i = 40; i < 60; i++) second.processElement({ key: `k${i % KEYS}`, n: i }, i)
    const states2 = second.snapshot(2)

    const third = KeyedHarnessGroup.open(factory, { parallelism: 3, keySelector: byKey, initialProcessingTime: 500 }, states2)
    for (let i = 60; i < 80; i++) third.processElement({ key: `k${i % KEYS}`, n: i }, i)
    third.processWatermark(49)
    third.setProcessingTime(1200)
    third.processWatermark(MAX_WATERMARK)
    third.setProcessingTime(5000)

    assert.deepEqual(sorted([...first.output, ...second.output, ...third.output]), expected)
  })

  it('refuses snapshots taken with another max parallelism', () => {
    const before = new OneInputOperatorTestHarness(factory, { keySelector: byKey, maxParallelism: 64 }).open()
    before.processElement({ key: 'a', n: 1 }, 1)
    const states = [before.snapshot(1)]
    assert.throws(() => OneInputOperatorTestHarness.restore(factory, states, { keySelector: byKey }), /max parallelism 64/)
  })

  it('keeps restored state a new operator does not read in its next snapshot', () => {
    const reduce = (): KeyedReduceOperator<Ev> => new KeyedReduceOperator<Ev>((a, b) => ({ key: a.key, n: a.n + b.n }))
    const before = new OneInputOperatorTestHarness(reduce, { keySelector: byKey }).open()
    for (let i = 0; i < 10; i++) before.processElement({ key: `k${i}`, n: i })
    const group = KeyedHarnessGroup.open(reduce, { parallelism: 2, keySelector: byKey }, [before.snapshot(1)])
    const after = KeyedHarnessGroup.open(reduce, { parallelism: 3, keySelector: byKey }, group.snapshot(2))
    assert.equal(after.numKeyedStateEntries(), 10)
    after.processElement({ key: 'k7', n: 100 })
    assert.deepEqual(after.extractOutputValues(), [{ key: 'k7', n: 107 }])
  })
})

describe('rescaling every keyed state kind through the harness', () => {
  /** Keeps the same facts about a key in each state kind and prints them all on every record. */
  class AllKinds extends KeyedProcessFunction<string, Ev, string> {
    private list!: ListState<number>
    private map!: MapState<number, string>
    private reducing!: ReducingState<number>
    private aggregating!: AggregatingState<number, string>
    override open(ctx: RuntimeContext): void {
      this.list = ctx.getListState(new ListStateDescriptor('list', Types.number))
      this.map = ctx.getMapState(new MapStateDescriptor('map', Types.number, Types.string))
      this.reducing = ctx.getReducingState(new ReducingStateDescriptor('max', (a: number, b: number) => Math.max(a, b), Types.number))
      this.aggregating = ctx.getAggregatingState(
        new AggregatingStateDescriptor<number, [number, number], string>('avg', {
          createAccumulator: () => [0, 0],
          add: (v, [s, c]) => [s + v, c + 1],
          merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
          getResult: ([s, c]) => (s / c).toFixed(2),
        }),
      )
    }
    processElement(e: Ev, ctx: KeyedProcessContext<string>, out: Collector<string>): void {
      this.list.add(e.n)
      this.map.put(e.n % 3, `${e.n}`)
      this.reducing.add(e.n)
      this.aggregating.add(e.n)
      const map = [...this.map.entries()].sort((a, b) => a[0] - b[0])
      out.collect(`${ctx.getCurrentKey()} list=${this.list.get().join(',')} map=${JSON.stringify(map)} max=${this.reducing.get()} avg=${this.aggregating.get()}`)
    }
  }
  const make = (): KeyedProcessOperator<string, Ev, string> => new KeyedProcessOperator(new AllKinds())
  const input = Array.from({ length: 90 }, (_, i): Ev => ({ key: `k${(i * 7) % 11}`, n: i }))

  it('1 -> 3 -> 2 gives the output of an uninterrupted run', () => {
    const straight = new OneInputOperatorTestHarness(make, { keySelector: byKey }).open()
    straight.processElements(input)

    const first = new OneInputOperatorTestHarness(make, { keySelector: byKey }).open()
    first.processElements(input.slice(0, 30))
    const second = KeyedHarnessGroup.open(make, { parallelism: 3, keySelector: byKey }, [first.snapshot(1)])
    second.processElements(input.slice(30, 60))
    const third = KeyedHarnessGroup.open(make, { parallelism: 2, keySelector: byKey }, second.snapshot(2))
    third.processElements(input.slice(60))

    assert.deepEqual([...first.extractOutputValues(), ...second.extractOutputValues(), ...third.extractOutputValues()].sort(), straight.extractOutputValues().sort())
    assert.equal(third.numKeyedStateEntries(), straight.numKeyedStateEntries())
  })
})
