/**
 * A job that runs until it is cancelled: an unbounded range of numbers, paced (a short sleep every
 * few hundred records, so it costs little CPU), summed per key.
 */
import { WatermarkStrategy, defineJob, discardSink, numberSource } from '../../../src/index.ts'

export default defineJob((env) => {
  const cell = new Int32Array(new SharedArrayBuffer(4))
  let seen = 0
  env
    .fromSource(numberSource(1, Number.MAX_SAFE_INTEGER - 1, (n) => n), WatermarkStrategy.noWatermarks(), 'numbers')
    .map((n) => {
      if (++seen % 256 === 0) Atomics.wait(cell, 0, 0, 5)
      return n
    }, 'pace')
    .keyBy((n) => n % 10)
    .sum()
    .sinkTo(discardSink(), 'discard')
})
