import assert from 'node:assert/strict'
import { test } from 'node:test'
import { JobGraphError, OutputTag, StreamEnvironment, collectSink, discardSink } from '../../../src/index.ts'

test('forward edges at equal parallelism are chained; keyBy and rebalance are not', () => {
  const env = StreamEnvironment.create({ parallelism: 2 })
  env
    .fromSequence(1, 10)
    .map((n) => n, 'a')
    .filter(() => true, 'b')
    .keyBy((n) => n)
    .reduce((x, y) => x + y, 'c')
    .rebalance()
    .map((n) => n, 'd')
    .sinkTo(discardSink(), 'sink')
  const graph = env.getJobGraph()
  assert.deepEqual(
    graph.vertices.map((v) => v.name),
    ['Sequence -> a -> b', 'c', 'd -> sink'],
  )
  assert.deepEqual(
    graph.vertices.flatMap((v) => v.outputs.map((e) => e.partitioning.kind)),
    ['hash', 'rebalance'],
  )
})

test('different parallelism breaks the chain with a rebalance; disableChaining splits it', () => {
  const env = StreamEnvironment.create({ parallelism: 2 })
  env
    .fromSequence(1, 10)
    .map((n) => n, 'a')
    .setParallelism(3)
    .map((n) => n, 'b')
    .setParallelism(3)
    .disableChaining()
    .sinkTo(discardSink(), 'sink')
    .setParallelism(3)
  const graph = env.getJobGraph()
  assert.deepEqual(
    graph.vertices.map((v) => [v.name, v.parallelism]),
    [
      ['Sequence', 2],
      ['a', 3],
      // As in Flink, a non-chainable operator chains neither to its input nor to its output.
      ['b', 3],
      ['sink', 3],
    ],
  )
  assert.equal(graph.vertices[0].outputs[0].partitioning.kind, 'rebalance')
  assert.equal(graph.vertices[1].outputs[0].partitioning.kind, 'forward')
})

test('explicit forward between different parallelism is refused', () => {
  const env = StreamEnvironment.create({ parallelism: 2 })
  env.fromSequence(1, 10).forward().map((n) => n, 'three').setParallelism(3).sinkTo(discardSink())
  assert.throws(() => env.getJobGraph(), (e: unknown) => e instanceof JobGraphError && /Forward partitioning needs equal parallelism/.test(e.message))
})

test('union merges inputs; side outputs become their own edges', () => {
  const env = StreamEnvironment.create({ parallelism: 1 })
  const tag = new OutputTag<string>('odd')
  const a = env.fromSequence(1, 10, 'a')
  const b = env.fromSequence(11, 20, 'b')
  const main = a.union(b).process<number>(
    {
      processElement(n: number, ctx, out) {
        if (n % 2) ctx.output(tag, `odd ${n}`)
        else out.collect(n)
      },
    },
    'split',
  )
  main.sinkTo(collectSink([]), 'evens')
  main.getSideOutput(tag).sinkTo(collectSink([]), 'odds')
  const stream = env.getStreamGraph()
  const split = [...stream.nodes.values()].find((n) => n.name === 'split')!
  assert.equal(split.inEdges.length, 2)
  assert.deepEqual(
    split.outEdges.map((e) => e.sideOutputTag),
    [undefined, 'odd'],
  )
})

test('uids must be unique and generated uids are stable', () => {
  const build = (): StreamEnvironment => {
    const env = StreamEnvironment.create()
    env.fromSequence(1, 10).map((n) => n, 'm').sinkTo(discardSink(), 's')
    return env
  }
  const uids = (env: StreamEnvironment): string[] => [...env.getStreamGraph().nodes.values()].map((n) => n.uid)
  assert.deepEqual(uids(build()), uids(build()))
  const env = StreamEnvironment.create()
  env.fromSequence(1, 10).map((n) => n).uid('x').sinkTo(discardSink()).uid('x')
  assert.throws(() => env.getStreamGraph(), /The uid 'x' is used by both/)
})

test('parallelism above max parallelism is refused', () => {
  const env = StreamEnvironment.create({ parallelism: 4, maxParallelism: 2 })
  env.fromSequence(1, 10).sinkTo(discardSink())
  assert.throws(() => env.getJobGraph(), /larger than the max parallelism/)
})
