/**
 * Two independent pipelines in one job, for the backpressure test:
 *
 * - `slow`: numbers -> keyBy -> sink, at parallelism 3; sink subtask 2 sleeps on every record.
 * - `fast`: numbers -> keyBy -> sink, at parallelism 2, as fast as it goes.
 *
 * On three task managers with one slot each (slot i runs subtask i of every operator), subtask 2
 * of the slow pipeline is alone on the third task manager, while both pipelines send records over
 * the connection between the first two.
 *
 * Arguments: records of the slow pipeline, records of the fast one, and the sleep in ms per record
 * of the slow subtask.
 */
import { WatermarkStrategy, defineJob, numberSource, type Sink } from '../../../src/index.ts'

const SLOW_SUBTASK = 2

function sink(sleepMs: number): Sink<number> {
  return {
    createWriter: (ctx) => {
      const cell = new Int32Array(new SharedArrayBuffer(4))
      const slow = sleepMs > 0 && ctx.subtaskIndex === SLOW_SUBTASK
      return {
        write: () => {
          // Sleeping (not spinning) keeps the machine's CPUs for the other processes.
          if (slow) Atomics.wait(cell, 0, 0, sleepMs)
        },
        flush: () => {},
        close: () => {},
      }
    },
  }
}

export default defineJob((env, args) => {
  const slowRecords = Number(args[0] ?? 3000)
  const fastRecords = Number(args[1] ?? 40_000)
  const sleepMs = Number(args[2] ?? 1)
  // Small batches and channels, so the bounds the test checks are tight.
  env.config.batchSize = 64
  env.config.channelCapacity = 2
  const pipelines = [
    { name: 'slow', records: slowRecords, delay: sleepMs, parallelism: 3 },
    { name: 'fast', records: fastRecords, delay: 0, parallelism: 2 },
  ]
  for (const { name, records, delay, parallelism } of pipelines) {
    env
      .fromSource(numberSource(1, records, (n) => n, { splits: parallelism, batch: 32 }), WatermarkStrategy.noWatermarks(), `${name}-numbers`)
      .setParallelism(parallelism)
      .uid(`${name}-numbers`)
      .keyBy((n) => n % 64)
      .sinkTo(sink(delay), `${name}-sink`)
      .setParallelism(parallelism)
      .uid(`${name}-sink`)
  }
})
