import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  CoProcessFunction,
  KeyedCoProcessFunction,
  OutputTag,
  StreamEnvironment,
  Types,
  ValueStateDescriptor,
  collectSink,
  type Collector,
  type KeyedProcessContext,
  type ProcessContext,
  type RuntimeContext,
  type ValueState,
} from '../../src/index.ts'

test('map, filter, flatMap and fromCollection keep order at parallelism 1', async () => {
  const env = StreamEnvironment.create()
  const out: string[] = []
  env
    .fromCollection(['a b', 'c', 'd e f'])
    .flatMap<string>((line, o) => line.split(' ').forEach((w) => o.collect(w)))
    .filter((w) => w !== 'c')
    .map((w) => w.toUpperCase())
    .sinkTo(collectSink(out))
  await env.execute()
  assert.deepEqual(out, ['A', 'B', 'D', 'E', 'F'])
})

for (const parallelism of [1, 3]) {
  test(`sum, min and max per key, of numbers and of fields (parallelism ${parallelism})`, async () => {
    const env = StreamEnvironment.create({ parallelism })
    const sums: { k: string; v: number; tag: string }[] = []
    const mins: number[] = []
    const maxes: [string, number][] = []
    const items = Array.from({ length: 300 }, (_, i) => ({ k: `k${i % 3}`, v: i, tag: `t${i}` }))
    const stream = env.fromCollection(items)
    stream.keyBy((x) => x.k).sum('v').sinkTo(collectSink(sums))
    stream.map((x) => x.v).keyBy((v) => v % 2).min().sinkTo(collectSink(mins))
    stream.map((x): [string, number] => [x.k, x.v]).keyBy((t) => t[0]).max(1).sinkTo(collectSink(maxes))
    await env.execute()
    const final = new Map<string, number>()
    for (const s of sums) final.set(s.k, Math.max(final.get(s.k) ?? 0, s.v))
    for (let k = 0; k < 3; k++) assert.equal(final.get(`k${k}`), items.filter((x) => x.k === `k${k}`).reduce((a, x) => a + x.v, 0))
    // The other fields come from the first record of the key.
    assert.deepEqual(new Set(sums.filter((s) => s.k === 'k1').map((s) => s.tag)), new Set(['t1']))
    assert.equal(Math.min(...mins), 0)
    assert.equal(mins.length, 300)
    assert.equal(Math.max(...maxes.map((m) => m[1])), 299)
  })
}

test('union, side outputs, rebalance and broadcast()', async () => {
  const env = StreamEnvironment.create({ parallelism: 2 })
  const odd = new OutputTag<string>('odd')
  const evens: number[] = []
  const odds: string[] = []
  const everywhere: number[] = []
  const main = env
    .fromSequence(1, 10)
    .union(env.fromSequence(11, 20))
    .rebalance()
    .process(
      {
        processElement(n: number, ctx: ProcessContext, out: Collector<number>) {
          if (n % 2) ctx.output(odd, `odd ${n}`)
          else out.collect(n)
        },
      },
      'split',
    )
  main.sinkTo(collectSink(evens))
  main.getSideOutput(odd).sinkTo(collectSink(odds))
  env.fromSequence(1, 5).setParallelism(1).broadcast().map((n) => n).setParallelism(3).sinkTo(collectSink(everywhere)).setParallelism(3)
  await env.execute()
  assert.deepEqual(evens.sort((a, b) => a - b), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20])
  assert.equal(odds.length, 10)
  assert.ok(odds.includes('odd 19'))
  // Every record reaches each of the 3 subtasks.
  assert.deepEqual(everywhere.sort((a, b) => a - b), [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5])
})

test('connect: a CoProcessFunction sees both inputs', async () => {
  const env = StreamEnvironment.create()
  const out: string[] = []
  class Tagger extends CoProcessFunction<number, string, string> {
    processElement1(n: number, _ctx: ProcessContext, o: Collector<string>): void {
      o.collect(`n${n}`)
    }
    processElement2(s: string, _ctx: ProcessContext, o: Collector<string>): void {
      o.collect(`s${s}`)
    }
  }
  env.fromSequence(1, 3).connect(env.fromCollection(['a', 'b'])).process(new Tagger()).sinkTo(collectSink(out))
  await env.execute()
  assert.deepEqual(out.sort(), ['n1', 'n2', 'n3', 'sa', 'sb'])
})

test('connect two keyed streams: a KeyedCoProcessFunction shares state per key', async () => {
  const env = StreamEnvironment.create({ parallelism: 3 })
  const out: string[] = []
  // Prices and orders for the same products: each order is matched with the latest price seen.
  class Match extends KeyedCoProcessFunction<string, { p: string; price: number }, { p: string; qty: number }, string> {
    private price!: ValueState<number>
    private waiting!: ValueState<number>
    override open(ctx: RuntimeContext): void {
      this.price = ctx.getState(new ValueStateDescriptor('price', Types.number))
      this.waiting = ctx.getState(new ValueStateDescriptor('waiting', Types.number))
    }
    processElement1(x: { p: string; price: number }, ctx: KeyedProcessContext<string>, o: Collector<string>): void {
      this.price.update(x.price)
      const qty = this.waiting.value()
      if (qty !== undefined) {
        o.collect(`${ctx.getCurrentKey()}:${qty * x.price}`)
        this.waiting.clear()
      }
    }
    processElement2(x: { p: string; qty: number }, ctx: KeyedProcessContext<string>, o: Collector<string>): void {
      const price = this.price.value()
      if (price === undefined) this.waiting.update(x.qty)
      else o.collect(`${ctx.getCurrentKey()}:${x.qty * price}`)
    }
  }
  const products = Array.from({ length: 50 }, (_, i) => `p${i}`)
  env
    .fromCollection(products.map((p, i) => ({ p, price: i + 1 })))
    .keyBy((x) => x.p)
    .connect(env.fromCollection(products.map((p) => ({ p, qty: 2 }))).keyBy((x) => x.p))
    .process(new Match())
    .sinkTo(collectSink(out))
  await env.execute()
  assert.deepEqual(out.sort(), products.map((p, i) => `${p}:${2 * (i + 1)}`).sort())
})
