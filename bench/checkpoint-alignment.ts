/**
 * Aligned vs unaligned checkpoints under backpressure. A slow sink (a busy loop per record) holds
 * back a keyed pipeline whose channels are full; one checkpoint is triggered in each mode and the
 * time from trigger to completion is printed. Aligned barriers wait behind every queued record;
 * unaligned barriers overtake them and store them as in-flight data.
 */
import { StreamEnvironment, numberSource, WatermarkStrategy, type Sink } from '../src/index.ts'

function slowSink(micros: number): Sink<number> {
  return {
    createWriter: () => ({
      write: () => {
        const until = performance.now() + micros / 1000
        while (performance.now() < until) {
          // the bottleneck
        }
      },
      flush: () => {},
      close: () => {},
    }),
  }
}

async function measure(unaligned: boolean): Promise<{ durationMs: number; bytes: number; backlog: number }> {
  const env = StreamEnvironment.create({ parallelism: 2, batchSize: 256, channelCapacity: 16 })
  // A long interval: the benchmark triggers its one checkpoint by hand.
  env.enableCheckpointing(3_600_000, { unaligned, timeoutMs: 120_000 })
  env
    .fromSource(numberSource(1, 50_000_000, (n) => n, { batch: 256 }), WatermarkStrategy.noWatermarks(), 'numbers')
    .keyBy((n) => n % 1000)
    .map((n) => n + 1, 'map')
    .keyBy((n) => n % 7)
    .sinkTo(slowSink(20), 'slow-sink')
  const job = env.executeAsync(unaligned ? 'unaligned' : 'aligned', { log: () => {} })
  // Let the channels fill up.
  await new Promise((r) => setTimeout(r, 1500))
  const backlog = job.channels.reduce((n, c) => n + c.queuedRecords, 0)
  const started = performance.now()
  const handle = await job.triggerCheckpoint()
  const durationMs = performance.now() - started
  const stats = job.checkpoints.find((c) => c.id === handle.checkpointId)!
  job.cancel()
  await job.result.catch(() => {})
  return { durationMs, bytes: stats.bytes, backlog }
}

/** Runs the comparison and prints it. */
export async function run(): Promise<void> {
  const aligned = await measure(false)
  const unaligned = await measure(true)
  console.log('checkpoint under backpressure (slow sink, 20 µs per record, 2 x 16 x 256-record channels)')
  console.log(`  aligned:   ${aligned.durationMs.toFixed(0).padStart(6)} ms from trigger to completion, ${aligned.bytes} bytes, ${aligned.backlog} records queued at trigger`)
  console.log(`  unaligned: ${unaligned.durationMs.toFixed(0).padStart(6)} ms from trigger to completion, ${unaligned.bytes} bytes, ${unaligned.backlog} records queued at trigger`)
  console.log(`  aligned / unaligned: ${(aligned.durationMs / unaligned.durationMs).toFixed(1)}x`)
}
