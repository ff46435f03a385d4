import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { StreamEnvironment, collectSink, fixedDelay, noRestart, numberSource, WatermarkStrategy, type LocalJob } from '../../../src/index.ts'
import type {
  AsyncOperationResult,
  BackpressureInfo,
  CheckpointDetails,
  CheckpointingStatistics,
  JobDetails,
  JobExceptions,
  JobList,
  Overview,
  TriggerResponse,
  VertexDetails,
  WatermarkEntry,
} from '../../../src/web/index.ts'
import { routes } from '../../../src/web/routes.ts'
import { assertError, call, eventually, serve, startLiveClicks, stop } from './helpers.ts'

type Served = Awaited<ReturnType<typeof serve>>

/** A bounded job that fails once at record `failAt` and, with a restart strategy, finishes after restarting. */
function failingJob(restart: boolean): LocalJob {
  const env = StreamEnvironment.create({ parallelism: 1 })
  env.enableCheckpointing(50)
  env.setRestartStrategy(restart ? fixedDelay(2, 10) : noRestart())
  let failed = false
  const out: number[] = []
  env
    .fromSource(numberSource(1, 3000, (n) => n, { splits: 1, batch: 10 }), WatermarkStrategy.noWatermarks(), 'numbers')
    .map((n) => {
      if (n === 1500 && !failed) {
        failed = true
        throw new Error('boom at 1500')
      }
      return n
    }, 'fragile')
    .uid('fragile')
    .sinkTo(collectSink(out), 'collect')
  return env.executeAsync(restart ? 'fails-once' : 'fails-for-good', { log: () => {} })
}

describe('REST API', { timeout: 120_000 }, () => {
  let served: Served
  let job: LocalJob
  let id: string

  before(async () => {
    served = await serve()
    job = await startLiveClicks(['1000', '50'])
    served.registry.register(job, { checkpointing: true })
    id = job.jobId
  })

  after(async () => {
    for (const { job: j } of served.registry.list()) await stop(j)
    await served.close()
  })

  it('GET /jobs lists the job, GET /overview counts it', async () => {
    const list = await call<JobList>(served.server, 'GET', '/jobs')
    assert.equal(list.status, 200)
    const entry = list.body.jobs.find((j) => j.id === id)
    assert.ok(entry)
    assert.equal(entry.name, 'live-clicks')
    assert.equal(entry.status, 'RUNNING')
    assert.equal(entry.endTime, -1)
    const overview = await call<Overview>(served.server, 'GET', '/overview')
    assert.equal(overview.status, 200)
    assert.ok(overview.body.jobsRunning >= 1)
    assert.equal(overview.body.weirVersion, '0.1.0')
  })

  it('GET /jobs/:id has the graph with live rates; unknown ids are 404s naming the id', async () => {
    const details = await eventually('rates above zero', async () => {
      const d = await call<JobDetails>(served.server, 'GET', `/jobs/${id}`)
      return d.body.vertices[0].metrics.writeRecordsPerSecond > 0 && d.body.vertices[1].metrics.readRecordsPerSecond > 0 ? d : undefined
    })
    const job = details.body
    assert.equal(job.jid, id)
    assert.equal(job.state, 'RUNNING')
    assert.equal(job.checkpointingEnabled, true)
    assert.deepEqual(
      job.vertices.map((v) => [v.id, v.name, v.parallelism, v.status]),
      [
        [0, 'clicks', 2, 'RUNNING'],
        [1, 'enrich', 1, 'RUNNING'],
        [2, 'page-counts', 2, 'RUNNING'],
        [3, 'sink', 1, 'RUNNING'],
      ],
    )
    assert.deepEqual(
      job.edges.map((e) => [e.source, e.target, e.shipStrategy]),
      [
        [0, 1, 'REBALANCE'],
        [1, 2, 'HASH'],
        [2, 3, 'REBALANCE'],
      ],
    )
    const source = job.vertices[0].metrics
    assert.equal(source.readRecords, 0)
    assert.ok(source.writeRecords > 0)
    // The source is paced at 1000 clicks per second (a loaded machine may hold it back).
    assert.ok(source.writeRecordsPerSecond > 20 && source.writeRecordsPerSecond < 5000, `source rate ${source.writeRecordsPerSecond}`)
    for (const v of job.vertices) {
      for (const r of [v.metrics.backpressureRatio, v.metrics.busyRatio, v.metrics.idleRatio]) assert.ok(r >= 0 && r <= 1, `${v.name}: ratio ${r}`)
      assert.ok(['ok', 'low', 'high'].includes(v.metrics.backpressureLevel))
    }

    assertError(await call(served.server, 'GET', '/jobs/no-such-job'), 404, "'no-such-job'")
    assertError(await call(served.server, 'GET', '/jobs/00000000-0000-0000-0000-000000000000'), 404, '00000000-0000-0000-0000-000000000000')
  })

  it('GET /jobs/:id/vertices/:vid has per-subtask and per-operator figures; bad vertex ids are 404s', async () => {
    const vertex = await eventually('watermarks through the window operator', async () => {
      const v = await call<VertexDetails>(served.server, 'GET', `/jobs/${id}/vertices/2`)
      return v.body.subtasks.every((s) => s.operators[0].currentInputWatermark !== null && s.readRecords > 0) ? v.body : undefined
    })
    assert.equal(vertex.name, 'page-counts')
    assert.equal(vertex.subtasks.length, 2)
    for (const s of vertex.subtasks) {
      assert.equal(s.status, 'RUNNING')
      assert.equal(s.attempt, 0)
      assert.equal(s.operators.length, 1)
      assert.equal(s.operators[0].uid, 'page-counts')
      assert.ok(s.accumulatedIdleMs + s.accumulatedBusyMs + s.accumulatedBackpressuredMs > 0)
      // Event time follows the wall clock in this job: the watermark is recent.
      assert.ok(Math.abs(Date.now() - s.operators[0].currentInputWatermark!) < 60_000)
    }

    const source = await call<VertexDetails>(served.server, 'GET', `/jobs/${id}/vertices/0`)
    assert.equal(source.status, 200)
    assert.equal(source.body.subtasks.length, 2)
    assert.ok(source.body.subtasks.every((s) => s.operators[0].numRecordsOut > 0))

    const bp = await call<BackpressureInfo>(served.server, 'GET', `/jobs/${id}/vertices/0/backpressure`)
    assert.equal(bp.status, 200)
    assert.equal(bp.body.subtasks.length, 2)
    assert.ok(bp.body.subtasks.every((s) => s.ratio >= 0 && s.ratio <= 1))

    const wm = await call<WatermarkEntry[]>(served.server, 'GET', `/jobs/${id}/vertices/2/watermarks`)
    assert.equal(wm.status, 200)
    assert.deepEqual(
      wm.body.map((w) => w.id),
      ['0.page-counts.currentInputWatermark', '0.page-counts.currentOutputWatermark', '1.page-counts.currentInputWatermark', '1.page-counts.currentOutputWatermark'],
    )

    assertError(await call(served.server, 'GET', `/jobs/${id}/vertices/99`), 404, "Vertex '99'")
    assertError(await call(served.server, 'GET', `/jobs/${id}/vertices/abc`), 404, "Vertex 'abc'")
    assertError(await call(served.server, 'GET', `/jobs/${id}/vertices/-1/backpressure`), 404, "'-1'")
    assertError(await call(served.server, 'GET', `/jobs/nope/vertices/0`), 404, "Job 'nope'")
  })

  it('GET /jobs/:id/checkpoints has counts, summary, latest and history; details per subtask', async () => {
    const stats = await eventually('two completed checkpoints', async () => {
      const s = await call<CheckpointingStatistics>(served.server, 'GET', `/jobs/${id}/checkpoints`)
      return s.body.counts.completed >= 2 ? s.body : undefined
    })
    assert.ok(stats.summary)
    assert.ok(stats.summary.endToEndDuration.max >= stats.summary.endToEndDuration.min)
    assert.ok(stats.summary.stateSize.max > 0, 'window state is not empty')
    const latest = stats.latest.completed
    assert.ok(latest)
    assert.equal(latest.status, 'COMPLETED')
    assert.equal(latest.isSavepoint, false)
    assert.equal(latest.numAcknowledgedSubtasks, latest.numSubtasks)
    assert.equal(latest.numSubtasks, 6)
    assert.ok(latest.externalPath)
    assert.ok(latest.latestAckTimestamp! >= latest.triggerTimestamp)
    // Newest first.
    const ids = stats.history.map((c) => c.id)
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a))

    const limited = await call<CheckpointingStatistics>(served.server, 'GET', `/jobs/${id}/checkpoints?limit=1`)
    assert.equal(limited.body.history.length, 1)
    assertError(await call(served.server, 'GET', `/jobs/${id}/checkpoints?limit=0`), 400, 'querystring.limit')
    assertError(await call(served.server, 'GET', `/jobs/${id}/checkpoints?limit=lots`), 400, 'querystring.limit')
    assertError(await call(served.server, 'GET', `/jobs/${id}/checkpoints?color=red`), 400, "'color'")

    const details = await call<CheckpointDetails>(served.server, 'GET', `/jobs/${id}/checkpoints/details/${latest.id}`)
    assert.equal(details.status, 200)
    assert.equal(details.body.id, latest.id)
    assert.deepEqual(
      details.body.tasks.map((t) => [t.name, t.numSubtasks, t.numAcknowledgedSubtasks]),
      [
        ['clicks', 2, 2],
        ['enrich', 1, 1],
        ['page-counts', 2, 2],
        ['sink', 1, 1],
      ],
    )
    assert.ok(details.body.tasks.flatMap((t) => t.subtasks).every((s) => s.status === 'COMPLETED' && s.ackTimestamp !== null && s.stateSize !== null))
    assert.equal(
      details.body.tasks.reduce((n, t) => n + t.stateSize, 0),
      latest.stateSize,
    )
    assertError(await call(served.server, 'GET', `/jobs/${id}/checkpoints/details/987654`), 404, "Checkpoint '987654'")
    assertError(await call(served.server, 'GET', `/jobs/${id}/checkpoints/details/latest`), 404, "Checkpoint 'latest'")
  })

  it('POST /jobs/:id/checkpoints triggers one; bad bodies are 400s naming the field', async () => {
    const triggered = await call<TriggerResponse>(served.server, 'POST', `/jobs/${id}/checkpoints`)
    assert.equal(triggered.status, 202, triggered.text)
    const requestId = triggered.body.requestId
    const done = await eventually('the checkpoint to complete', async () => {
      const r = await call<AsyncOperationResult>(served.server, 'GET', `/jobs/${id}/checkpoints/${requestId}`)
      return r.body.status.id === 'COMPLETED' ? r.body : undefined
    })
    assert.equal(done.operation?.failureCause, null)
    assert.ok(done.operation?.checkpointId)
    assert.ok(done.operation?.location)

    assertError(await call(served.server, 'POST', `/jobs/${id}/checkpoints`, { bogus: 1 }), 400, "'bogus'")
    assertError(await call(served.server, 'POST', `/jobs/${id}/checkpoints`, { triggerId: 'has spaces' }), 400, 'body.triggerId')
    assertError(await call(served.server, 'POST', `/jobs/${id}/checkpoints`, '{"triggerId": '), 400, /JSON/i)
    assertError(await call(served.server, 'POST', `/jobs/${id}/checkpoints`, [1, 2]), 400, 'body must be object')
    assertError(await call(served.server, 'POST', '/jobs/missing/checkpoints', {}), 404, "Job 'missing'")
    assertError(await call(served.server, 'GET', `/jobs/${id}/checkpoints/no-such-trigger`), 404, "'no-such-trigger'")
  })

  it('POST /jobs/:id/savepoints triggers a savepoint, idempotently by trigger id; GET reports where it is', async () => {
    const first = await call<TriggerResponse>(served.server, 'POST', `/jobs/${id}/savepoints`, { triggerId: 'sp-1' })
    assert.equal(first.status, 202, first.text)
    assert.equal(first.body.requestId, 'sp-1')
    const again = await call<TriggerResponse>(served.server, 'POST', `/jobs/${id}/savepoints`, { triggerId: 'sp-1' })
    assert.equal(again.body.requestId, 'sp-1')
    const done = await eventually('the savepoint to complete', async () => {
      const r = await call<AsyncOperationResult>(served.server, 'GET', `/jobs/${id}/savepoints/sp-1`)
      return r.body.status.id === 'COMPLETED' ? r.body : undefined
    })
    assert.equal(done.operation?.failureCause, null)
    assert.match(done.operation?.location ?? '', /savepoint/)
    const stats = await call<CheckpointingStatistics>(served.server, 'GET', `/jobs/${id}/checkpoints`)
    assert.equal(stats.body.latest.savepoint?.id, done.operation?.checkpointId)
    assert.equal(stats.body.latest.savepoint?.isSavepoint, true)
    assert.equal(job.checkpoints.filter((c) => c.kind === 'savepoint').length, 1, 'the repeated trigger id took no second savepoint')

    assertError(await call(served.server, 'POST', `/jobs/${id}/savepoints`, { cancelJob: 'yes' }), 400, 'body.cancelJob must be boolean')
    assertError(await call(served.server, 'POST', `/jobs/${id}/savepoints`, { 'target-directory': '/tmp/x' }), 400, "'target-directory'")
    assertError(await call(served.server, 'POST', `/jobs/${id}/savepoints`, { targetDirectory: '' }), 400, 'body.targetDirectory')
    assertError(await call(served.server, 'POST', `/jobs/${id}/savepoints`, 'not json at all'), 400, /JSON/i)
    assertError(await call(served.server, 'GET', `/jobs/${id}/savepoints/sp-unknown`), 404, "'sp-unknown'")
    assertError(await call(served.server, 'GET', `/jobs/nope/savepoints/sp-1`), 404, "Job 'nope'")
  })

  it('a savepoint goes to the target directory asked for; POST /jobs/:id/stop stops a job with a savepoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-web-savepoints-'))
    try {
      const sp = await call<TriggerResponse>(served.server, 'POST', `/jobs/${id}/savepoints`, { targetDirectory: dir })
      assert.equal(sp.status, 202, sp.text)
      const done = await eventually('the savepoint in the directory', async () => {
        const r = await call<AsyncOperationResult>(served.server, 'GET', `/jobs/${id}/savepoints/${sp.body.requestId}`)
        return r.body.status.id === 'COMPLETED' ? r.body : undefined
      })
      assert.equal(done.operation?.failureCause, null, JSON.stringify(done))
      assert.ok(done.operation?.location?.startsWith(dir), `${done.operation?.location} is in ${dir}`)
      assert.ok(existsSync(join(done.operation?.location ?? '', '_metadata')))

      const other = await startLiveClicks(['500', '10'])
      served.registry.register(other)
      await eventually('a first checkpoint of the second job', () => other.checkpoints.some((c) => c.status === 'completed'))
      assertError(await call(served.server, 'POST', `/jobs/${other.jobId}/stop`, { drain: 'yes' }), 400, 'body.drain must be boolean')
      const stop = await call<TriggerResponse>(served.server, 'POST', `/jobs/${other.jobId}/stop`, { targetDirectory: dir, drain: false })
      assert.equal(stop.status, 202, stop.text)
      const stopped = await eventually('the stop savepoint', async () => {
        const r = await call<AsyncOperationResult>(served.server, 'GET', `/jobs/${other.jobId}/savepoints/${stop.body.requestId}`)
        return r.body.status.id === 'COMPLETED' ? r.body : undefined
      })
      assert.equal(stopped.operation?.failureCause, null, JSON.stringify(stopped))
      assert.ok(stopped.operation?.location?.startsWith(dir))
      await other.result
      assert.equal((await call<JobDetails>(served.server, 'GET', `/jobs/${other.jobId}`)).body.state, 'FINISHED')
      assertError(await call(served.server, 'POST', `/jobs/${other.jobId}/stop`, {}), 409, 'FINISHED')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('GET /jobs/:id/exceptions is empty for a healthy job, and lists restarts and the final failure of others', async () => {
    const healthy = await call<JobExceptions>(served.server, 'GET', `/jobs/${id}/exceptions`)
    assert.equal(healthy.status, 200)
    assert.deepEqual(healthy.body, { exceptionHistory: { entries: [], truncated: false }, rootException: null, timestamp: null })
    assertError(await call(served.server, 'GET', '/jobs/nope/exceptions'), 404, "Job 'nope'")

    const recovering = failingJob(true)
    served.registry.register(recovering)
    await recovering.result
    const recovered = await call<JobExceptions>(served.server, 'GET', `/jobs/${recovering.jobId}/exceptions`)
    assert.equal(recovered.body.exceptionHistory.entries.length, 1)
    const entry = recovered.body.exceptionHistory.entries[0]
    assert.equal(entry.code, 'USER_FUNCTION_FAILED')
    assert.equal(entry.taskName, 'fragile')
    assert.equal(entry.subtask, 0)
    assert.equal(entry.restarting, true)
    assert.equal(entry.attempt, 0)
    assert.match(entry.message, /boom at 1500/)
    assert.match(recovered.body.rootException ?? '', /boom at 1500/)
    const details = await call<JobDetails>(served.server, 'GET', `/jobs/${recovering.jobId}`)
    assert.equal(details.body.state, 'FINISHED')
    assert.equal(details.body.restarts, 1)
    assert.ok(details.body.endTime >= details.body.startTime)

    const doomed = failingJob(false)
    served.registry.register(doomed)
    await assert.rejects(doomed.result, /boom at 1500/)
    const failed = await call<JobExceptions>(served.server, 'GET', `/jobs/${doomed.jobId}/exceptions`)
    assert.deepEqual(
      failed.body.exceptionHistory.entries.map((e) => [e.code, e.restarting]),
      [['USER_FUNCTION_FAILED', false]],
    )
    assert.equal((await call<JobDetails>(served.server, 'GET', `/jobs/${doomed.jobId}`)).body.state, 'FAILED')
    assertError(await call(served.server, 'POST', `/jobs/${doomed.jobId}/savepoints`, {}), 409, 'FAILED')
  })

  it('a job without checkpointing refuses checkpoints and savepoints with 409', async () => {
    const env = StreamEnvironment.create()
    env.fromSequence(1, 1e9).map((n) => n, 'spin').sinkTo(collectSink([]), 'nowhere')
    const plain = env.executeAsync('no-checkpoints', { log: () => {} })
    served.registry.register(plain)
    try {
      assertError(await call(served.server, 'POST', `/jobs/${plain.jobId}/checkpoints`), 409, 'CHECKPOINTING_DISABLED')
      assertError(await call(served.server, 'POST', `/jobs/${plain.jobId}/savepoints`, {}), 409, 'CHECKPOINTING_DISABLED')
      assert.equal((await call<JobDetails>(served.server, 'GET', `/jobs/${plain.jobId}`)).body.checkpointingEnabled, false)
    } finally {
      await stop(plain)
    }
  })

  it('GET /openapi.json describes every endpoint; unknown paths are 404s', async () => {
    const doc = await call<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(served.server, 'GET', '/openapi.json')
    assert.equal(doc.status, 200)
    assert.equal(doc.body.openapi, '3.1.0')
    for (const r of routes) {
      const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}')
      const op = doc.body.paths[path]?.[r.method.toLowerCase()]
      assert.ok(op, `${r.method} ${path} is documented`)
      assert.ok(op.responses[String(r.status)], `${r.method} ${path} documents ${r.status}`)
    }
    assert.ok(doc.body.paths['/metrics']?.get)
    assertError(await call(served.server, 'GET', '/no/such/thing'), 404, 'No such endpoint')
    const root = await call(served.server, 'GET', '/')
    assert.ok(root.status === 200 ? root.text.includes('<div id="app">') : root.status === 503 && root.text.includes('build:web'), `GET / answered ${root.status}`)
  })

  it('PATCH /jobs/:id?mode=cancel and POST /jobs/:id/cancel cancel; bad modes are 400s', async () => {
    assertError(await call(served.server, 'PATCH', `/jobs/${id}`), 400, "missing 'mode'")
    assertError(await call(served.server, 'PATCH', `/jobs/${id}?mode=stop`), 400, '"cancel"')
    assertError(await call(served.server, 'PATCH', '/jobs/ghost?mode=cancel'), 404, "Job 'ghost'")
    assertError(await call(served.server, 'POST', '/jobs/ghost/cancel'), 404, "Job 'ghost'")

    const cancelled = await call<{ jobId: string; status: string }>(served.server, 'PATCH', `/jobs/${id}?mode=cancel`)
    assert.equal(cancelled.status, 202, cancelled.text)
    assert.equal(cancelled.body.jobId, id)
    await assert.rejects(job.result, /cancelled/)
    const details = await call<JobDetails>(served.server, 'GET', `/jobs/${id}`)
    assert.equal(details.body.state, 'CANCELED')
    assert.ok(details.body.vertices.every((v) => v.status === 'CANCELED'), JSON.stringify(details.body.vertices.map((v) => v.status)))
    assertError(await call(served.server, 'POST', `/jobs/${id}/savepoints`, {}), 409, 'CANCELED')
    // Cancelling again is harmless.
    const again = await call<{ status: string }>(served.server, 'POST', `/jobs/${id}/cancel`)
    assert.equal(again.status, 202)
    assert.equal(again.body.status, 'CANCELED')
  })
})
