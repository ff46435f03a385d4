import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ProcessFunction, type ProcessContext } from '../../src/api/functions.ts'
import type { FunctionInitializationContext, FunctionSnapshotContext } from '../../src/api/runtime-context.ts'
import { OutputTag } from '../../src/api/output-tag.ts'
import { Types } from '../../src/api/serialization/types.ts'
import { StateError, WeirError } from '../../src/errors.ts'
import { FlatMapOperator, KeyedReduceOperator, MapOperator } from '../../src/operators/basic-operators.ts'
import type { Collector } from '../../src/operators/output.ts'
import { ProcessOperator } from '../../src/operators/process-operators.ts'
import { ListStateDescriptor, ValueStateDescriptor } from '../../src/state/descriptors.ts'
import { heapStateBackend } from '../../src/state/heap-state-backend.ts'
import type { StateBackend } from '../../src/state/state-backend.ts'
import type { ListState } from '../../src/state/state.ts'
import { OneInputOperatorTestHarness, record, subtaskForKey } from './index.ts'

describe('OneInputOperatorTestHarness with stateless operators', () => {
  it('MapOperator: records keep their timestamps, watermarks are forwarded in order', () => {
    const h = new OneInputOperatorTestHarness(() => new MapOperator((x: number) => x * 2)).open()
    h.processElement(1, 10)
    h.processWatermark(10)
    h.processElement(2)
    assert.deepEqual(h.output, [record(2, 10), record(4)])
    assert.deepEqual(h.extractOutputValues(), [2, 4])
    assert.deepEqual(h.watermarks, [10])
    assert.deepEqual(h.events, [{ kind: 'record', value: 2, timestamp: 10 }, { kind: 'watermark', watermark: 10 }, { kind: 'record', value: 4 }])
    h.clearOutput()
    assert.deepEqual(h.output, [])
  })

  it('FlatMapOperator: every collected record carries the input timestamp', () => {
    const h = new OneInputOperatorTestHarness(
      () =>
        new FlatMapOperator((line: string, out: Collector<string>) => {
          for (const w of line.split(' ')) if (w) out.collect(w)
        }),
    ).open()
    h.processElement('a b', 5)
    h.processElement('', 6)
    h.processElement('c', 7)
    assert.deepEqual(h.output, [record('a', 5), record('b', 5), record('c', 7)])
  })

  it('element errors propagate unchanged', () => {
    const boom = new Error('boom')
    const h = new OneInputOperatorTestHarness(
      () =>
        new MapOperator((x: number) => {
          if (x < 0) throw boom
          return x
        }),
    ).open()
    h.processElement(1)
    assert.throws(() => h.processElement(-1), (e: unknown) => e === boom)
    assert.deepEqual(h.extractOutputValues(), [1])
  })

  it('refuses input before open and after close', async () => {
    const h = new OneInputOperatorTestHarness(() => new MapOperator((x: number) => x))
    assert.throws(() => h.processElement(1), /call open\(\)/)
    h.open()
    await h.close()
    assert.throws(() => h.processElement(1), /closed/)
    await h.close()
  })

  it('is restored when given states, even empty ones, and not otherwise', () => {
    const fresh = new OneInputOperatorTestHarness(() => new MapOperator((x: number) => x)).open()
    assert.equal(fresh.isRestored, false)
    const empty = new OneInputOperatorTestHarness(() => new MapOperator((x: number) => x))
    empty.initializeState([])
    assert.equal(empty.open().isRestored, true)
    assert.throws(() => empty.initializeState(), /already open/)
  })

  it('calls the rich function life cycle', async () => {
    const calls: string[] = []
    const fn = {
      open: () => calls.push('open'),
      close: () => calls.push('close'),
      map: (x: number) => x,
    }
    const h = new OneInputOperatorTestHarness(() => new MapOperator<number, number>(fn)).open()
    h.processElement(1)
    await h.finish()
    await h.close()
    assert.deepEqual(calls, ['open', 'close'])
  })

  it('ProcessOperator: side outputs keep the record timestamp; timers are refused on a non-keyed stream', () => {
    const small = new OutputTag<number>('small')
    const errors = new OutputTag<string>('errors')
    class Split extends ProcessFunction<number, number> {
      processElement(value: number, ctx: ProcessContext, out: Collector<number>): void {
        if (Number.isNaN(value)) ctx.output(errors, `bad at ${ctx.timestamp()}`)
        else if (value < 10) ctx.output(small, value)
        else out.collect(value)
        if (value === 99) ctx.timerService().registerEventTimeTimer(1)
      }
    }
    const h = new OneInputOperatorTestHarness(() => new ProcessOperator(new Split()), { operatorName: 'split' }).open()
    h.processElement(3, 1)
    h.processElement(30, 2)
    h.processElement(Number.NaN, 3)
    h.processElement(4)
    assert.deepEqual(h.output, [record(30, 2)])
    assert.deepEqual(h.sideOutput(small), [record(3, 1), record(4)])
    assert.deepEqual(h.sideOutput(errors), [record('bad at 3', 3)])
    assert.deepEqual(h.sideOutput(new OutputTag<number>('unused')), [])
    assert.throws(() => h.processElement(99), (e: unknown) => e instanceof StateError && /'split' is not on a keyed stream/.test(e.message))
  })

  it('ProcessOperator: the timer service reads the harness clocks', () => {
    const seen: [number, number][] = []
    class Clocks extends ProcessFunction<string, string> {
      processElement(_v: string, ctx: ProcessContext): void {
        seen.push([ctx.timerService().currentProcessingTime(), ctx.timerService().currentWatermark()])
      }
    }
    const h = new OneInputOperatorTestHarness(() => new ProcessOperator(new Clocks()), { initialProcessingTime: 1000 }).open()
    h.processElement('a')
    h.setProcessingTime(1500)
    h.processWatermark(42)
    h.processElement('b')
    assert.deepEqual(seen, [
      [1000, Number.NEGATIVE_INFINITY],
      [1500, 42],
    ])
  })
})

describe('OneInputOperatorTestHarness with KeyedReduceOperator', () => {
  type Pair = [string, number]
  const sum = (): KeyedReduceOperator<Pair> => new KeyedReduceOperator<Pair>((a, b) => [a[0], a[1] + b[1]])
  const byWord = (p: Pair): string => p[0]

  it('reduces per key and keeps one entry per key', () => {
    const h = new OneInputOperatorTestHarness(sum, { keySelector: byWord }).open()
    assert.equal(h.isKeyed, true)
    h.processElements([
      ['a', 1],
      ['b', 2],
      ['a', 3],
    ])
    assert.deepEqual(h.extractOutputValues(), [
      ['a', 1],
      ['b', 2],
      ['a', 4],
    ])
    assert.equal(h.numKeyedStateEntries(), 2)
    assert.equal(h.numTimers(), 0)
    const stored = h.withCurrentKey('a', (backend) => backend.getValueState(new ValueStateDescriptor<Pair>('_reduce')).value())
    assert.deepEqual(stored, ['a', 4])
  })

  it('refuses to snapshot a closed harness', async () => {
    const h = new OneInputOperatorTestHarness(sum, { keySelector: byWord }).open()
    await h.close()
    assert.throws(() => h.snapshot(1), /closed/)
  })

  it('restores into a fresh instance and goes on from the snapshot, not from later changes', () => {
    const h = new OneInputOperatorTestHarness(sum, { keySelector: byWord }).open()
    h.processElement(['a', 1])
    h.processElement(['b', 1])
    const state = h.snapshot(1)
    // Not in the snapshot: must not show up after the restore.
    h.processElement(['a', 100])
    const restored = OneInputOperatorTestHarness.restore(sum, [state], { keySelector: byWord })
    assert.equal(restored.isRestored, true)
    assert.notEqual(restored.operator, h.operator)
    restored.processElement(['a', 1])
    restored.processElement(['c', 1])
    assert.deepEqual(restored.extractOutputValues(), [
      ['a', 2],
      ['c', 1],
    ])
  })

  it('runs on the state backend it is given', () => {
    const created: string[] = []
    const heap = heapStateBackend()
    const backend: StateBackend = {
      name: 'recording',
      createKeyedBackend: (options) => {
        created.push(`keyed ${options.keyGroupRange.toString()} of ${options.operatorName}`)
        return heap.createKeyedBackend(options)
      },
      createOperatorBackend: (subtaskIndex) => {
        created.push(`operator ${subtaskIndex}`)
        return heap.createOperatorBackend(subtaskIndex)
      },
    }
    const h = new OneInputOperatorTestHarness(sum, { keySelector: byWord, stateBackend: backend, subtaskIndex: 1, parallelism: 2, operatorName: 'reduce' }).open()
    assert.deepEqual(created, ['keyed [64, 127] of reduce', 'operator 1'])
    assert.deepEqual(h.keyGroupRange.toString(), '[64, 127]')
  })

  it('refuses a key the subtask does not own, as the keyed backend does', () => {
    const h = new OneInputOperatorTestHarness(sum, { keySelector: byWord, subtaskIndex: 0, parallelism: 2 }).open()
    const mine = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'].find((k) => subtaskForKey(k, 2) === 0)!
    const foreign = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'].find((k) => subtaskForKey(k, 2) === 1)!
    h.processElement([mine, 1])
    assert.throws(() => h.processElement([foreign, 1]), (e: unknown) => e instanceof WeirError && e.code === 'KEY_GROUP_OUT_OF_RANGE')
  })
})

describe('OneInputOperatorTestHarness with a CheckpointedFunction', () => {
  /** Counts records per subtask in operator list state, and records whether it was restored. */
  class CountingMap {
    static restoredFlags: boolean[] = []
    private counts!: ListState<number>
    private seen = 0
    initializeState(ctx: FunctionInitializationContext): void {
      CountingMap.restoredFlags.push(ctx.isRestored)
      this.counts = ctx.operatorStateStore.getListState(new ListStateDescriptor<number>('counts', Types.number))
      this.seen = 0
    }
    snapshotState(_ctx: FunctionSnapshotContext): void {
      this.counts.update([...this.counts.get(), this.seen])
      this.seen = 0
    }
    map(value: string): string {
      this.seen++
      return value
    }
    total(): number {
      return this.counts.get().reduce((a, b) => a + b, 0) + this.seen
    }
  }

  it('sets isRestored and redistributes operator list state from 2 subtasks to 3', () => {
    CountingMap.restoredFlags = []
    const fns: CountingMap[] = []
    const factory = (): MapOperator<string, string> => {
      const fn = new CountingMap()
      fns.push(fn)
      return new MapOperator<string, string>(fn)
    }
    const old = [0, 1].map((subtaskIndex) => new OneInputOperatorTestHarness(factory, { subtaskIndex, parallelism: 2 }).open())
    old[0].processElements(['a', 'b', 'c'])
    old[1].processElements(['d'])
    const states = old.map((h) => h.snapshot(7))
    assert.deepEqual(CountingMap.restoredFlags, [false, false])

    fns.length = 0
    const fresh = [0, 1, 2].map((subtaskIndex) => OneInputOperatorTestHarness.restore(factory, states, { subtaskIndex, parallelism: 3 }))
    assert.deepEqual(CountingMap.restoredFlags, [false, false, true, true, true])
    assert.ok(fresh.every((h) => h.isRestored))
    assert.deepEqual(
      fns.map((f) => f.total()),
      [3, 1, 0],
    )
  })
})
