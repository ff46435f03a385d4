/**
 * The fault-injection job of test/it/fault as a job module for a cluster: generator -> keyBy ->
 * tumbling window count -> exactly-once file sink, with checkpoints in a shared directory.
 *
 * Arguments: records, output directory, checkpoint directory, checkpoint interval (ms), a pace
 * (ms of sleep per 1000 records per subtask) that keeps the job running long enough for task
 * managers to be killed in the middle of it (it sleeps the thread rather than spinning, so it costs
 * no CPU), and `unaligned` for unaligned checkpoints.
 */
import { defineJob, fixedDelay } from '../../../src/index.ts'
import type { FailureInjector } from '../fault/failure-injector.ts'
import { buildWindowedCountJob } from '../fault/windowed-count-job.ts'

const SLEEP_EVERY = 32

export default defineJob((env, args) => {
  const [records, out, checkpoints, interval, pace, mode] = args
  env.enableCheckpointing(Number(interval ?? 100), { storage: { directory: checkpoints }, unaligned: mode === 'unaligned' })
  env.setRestartStrategy(fixedDelay(50, 0))
  const sleepMs = (Number(pace ?? 0) * SLEEP_EVERY) / 1000
  const cell = new Int32Array(new SharedArrayBuffer(4))
  let seen = 0
  const pacer = {
    check(point: string): void {
      if (point === 'record' && sleepMs > 0 && ++seen % SLEEP_EVERY === 0) Atomics.wait(cell, 0, 0, sleepMs)
    },
  } as unknown as FailureInjector
  buildWindowedCountJob(env, { records: Number(records), out, injector: pacer })
})
