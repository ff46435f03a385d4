import assert from 'node:assert/strict'
import { test } from 'node:test'
import { StreamEnvironment, numberSource, WatermarkStrategy, type Sink } from '../../src/index.ts'

/** A sink that spends ~`micros` of CPU on every record: the job's bottleneck. */
function slowSink(micros: number, seen: { count: number }): Sink<number> {
  return {
    createWriter: () => ({
      write: () => {
        const until = performance.now() + micros / 1000
        while (performance.now() < until) {
          // busy: the sink is slow
        }
        seen.count++
      },
      flush: () => {},
      close: () => {},
    }),
  }
}

test('a slow sink throttles the source: channels never hold more than their capacity', async () => {
  const batchSize = 64
  const channelCapacity = 2
  const total = 40_000
  const env = StreamEnvironment.create({ parallelism: 2, batchSize, channelCapacity })
  const sunk = { count: 0 }
  env
    .fromSource(numberSource(1, total, (n) => n, { splits: 2, batch: 32 }), WatermarkStrategy.noWatermarks(), 'numbers')
    .map((n) => n * 2, 'double')
    .keyBy((n) => n % 97)
    .map((n) => n + 1, 'inc')
    .sinkTo(slowSink(20, sunk), 'slow-sink')
  const job = env.executeAsync('backpressure')
  const capacityRecords = batchSize * channelCapacity
  let maxInFlight = 0
  let samples = 0
  const sampler = setInterval(() => {
    const read = job.tasks.flatMap((t) => t.metrics).filter((m) => m.operatorName === 'numbers').reduce((a, m) => a + m.recordsOut, 0)
    maxInFlight = Math.max(maxInFlight, read - sunk.count)
    samples++
  }, 5)
  await job.result
  clearInterval(sampler)
  assert.equal(sunk.count, total)
  assert.ok(samples > 10, `sampled ${samples} times`)
  for (const channel of job.channels) {
    assert.ok(channel.maxQueuedRecords <= capacityRecords, `${channel.name} held ${channel.maxQueuedRecords} records, capacity ${capacityRecords}`)
  }
  // Between source and sink: 2x2 keyed channels of the capacity, plus at most one partial and one
  // refused batch per writer channel and one source poll per subtask.
  const bound = 4 * capacityRecords + 2 * 2 * 2 * batchSize + 2 * 32
  assert.ok(maxInFlight <= bound, `records read but not yet written peaked at ${maxInFlight}, bound ${bound}`)
  assert.ok(maxInFlight > 0)
})
