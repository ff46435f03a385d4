import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { bundleJob } from '../../../src/runtime/cluster/bundle.ts'
import type { JobMetrics } from '../../../src/runtime/cluster/protocol.ts'
import { startTestCluster, stopTestCluster, type TestCluster } from './cluster-fixtures.ts'

/**
 * Credit-based flow control across processes: one slow sink subtask throttles exactly its upstream.
 * The job has two independent pipelines that share the TCP connection between two task managers
 * (and those task managers' threads); the slow pipeline's sources are held back by its one slow
 * subtask on a third task manager, the fast pipeline must finish meanwhile, and no channel end, in
 * any process, may ever hold more records than its capacity.
 */

/** The slow subtask takes about a third of these, at 1 ms each: a few seconds. */
const SLOW_RECORDS = 6000
const FAST_RECORDS = 40_000
const JOB = fileURLToPath(new URL('./backpressure-job.ts', import.meta.url))

let root: string
let cluster: TestCluster | undefined

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'weir-cluster-bp-'))
  // Network channels as small as the job's local ones (2 batches of 64), so the bounds are tight.
  cluster = await startTestCluster({ taskManagers: 3, slots: 1, networkBuffers: 2, checkpointDir: join(root, 'checkpoints'), logDir: join(root, 'logs') })
})

after(async () => {
  await stopTestCluster(cluster)
  rmSync(root, { recursive: true, force: true })
})

function sum(metrics: JobMetrics, prefix: string, field: 'recordsIn' | 'recordsOut'): number {
  return metrics.tasks.filter((t) => t.name.startsWith(prefix)).reduce((n, t) => n + t[field], 0)
}

test('a slow sink subtask throttles its upstream only, and every channel end stays within its capacity', async () => {
  const { client } = cluster!
  const bundle = await bundleJob(JOB)
  const jobId = await client.submit({ name: 'backpressure', bundle, args: [String(SLOW_RECORDS), String(FAST_RECORDS), '1'], parallelism: 0 })
  let ended = false
  const result = client.wait(jobId).finally(() => (ended = true))
  let fastDoneAt: { slowRead: number; slowSunk: number } | undefined
  let maxSlowInFlight = 0
  let samples = 0
  while (!ended) {
    const m = await client.metrics(jobId)
    samples++
    const slowRead = sum(m, "'slow-numbers'", 'recordsOut')
    const slowSunk = sum(m, "'slow-sink'", 'recordsIn')
    maxSlowInFlight = Math.max(maxSlowInFlight, slowRead - slowSunk)
    if (process.env.WEIR_DEBUG) console.log(Date.now() % 100000, slowRead, slowSunk, sum(m, "'fast-numbers'", 'recordsOut'), sum(m, "'fast-sink'", 'recordsIn'), m.tasks.length)
    if (!fastDoneAt && sum(m, "'fast-sink'", 'recordsIn') === FAST_RECORDS) fastDoneAt = { slowRead, slowSunk }
    await new Promise((r) => setTimeout(r, 20))
  }
  const { status, error } = await result
  assert.equal(status, 'FINISHED', error?.message)
  const metrics = await client.metrics(jobId)
  assert.equal(sum(metrics, "'slow-sink'", 'recordsIn'), SLOW_RECORDS)
  assert.equal(sum(metrics, "'fast-sink'", 'recordsIn'), FAST_RECORDS)

  // The fast pipeline shares the connection but not the credit: it finished while the slow one
  // was still being held back at its sources.
  assert.ok(fastDoneAt, 'the fast pipeline did not finish before the slow one')
  assert.ok(fastDoneAt.slowRead < SLOW_RECORDS, `the slow pipeline's sources had read ${fastDoneAt.slowRead} of ${SLOW_RECORDS} records when the fast one finished`)

  // Every channel end, local or network, sender or receiver, in both processes.
  const kinds = new Set(metrics.channels.map((c) => c.kind))
  assert.deepEqual([...kinds].sort(), ['local', 'network-in', 'network-out'])
  for (const c of metrics.channels) {
    const capacity = c.capacity * c.batchSize
    assert.ok(c.maxQueuedRecords <= capacity, `${c.kind} end of ${c.name} on ${c.taskManager} held ${c.maxQueuedRecords} records, capacity ${capacity}`)
  }
  // The channels into the slow subtask filled up: that is where the backpressure came from.
  const intoSlow = metrics.channels.filter((c) => c.name.endsWith('=> slow-sink [2]'))
  assert.ok(intoSlow.length === 5 && intoSlow.every((c) => c.maxQueuedRecords >= (c.capacity - 1) * c.batchSize), `channels into the slow subtask: ${intoSlow.map((c) => `${c.kind} ${c.maxQueuedRecords}`).join(', ')}`)

  // Records read but not yet written by the slow pipeline: bounded by what its channels hold (both
  // ends of the six network channels, the three local ones), a partial and a refused batch per
  // writer channel, one source poll and one batch in each sink.
  const channelEnds = metrics.channels.filter((c) => c.name.startsWith('slow-numbers ['))
  const batch = channelEnds[0].batchSize
  assert.equal(channelEnds.length, 2 * 6 + 3)
  const bound = channelEnds.reduce((n, c) => n + c.capacity * c.batchSize, 0) + 9 * 2 * batch + 3 * 32 + 3 * batch
  assert.ok(samples > 10, `sampled ${samples} times`)
  assert.ok(maxSlowInFlight <= bound, `the slow pipeline had up to ${maxSlowInFlight} records in flight, bound ${bound}`)
})
