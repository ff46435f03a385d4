import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { LocalJob } from '../../../src/index.ts'
import { call, eventually, serve, startLiveClicks, stop } from './helpers.ts'
import { parsePrometheusText, samples, type Family } from './prometheus-text.ts'

describe('GET /metrics', { timeout: 120_000 }, () => {
  let served: Awaited<ReturnType<typeof serve>>
  let job: LocalJob
  let families: Map<string, Family>
  let text: string

  before(async () => {
    served = await serve()
    // 4000 clicks/s at 400 µs each is more than the single enrich subtask can do: the sources wait
    // for room in its input channels, i.e. are back-pressured, and enrich is busy.
    job = await startLiveClicks(['4000', '400'])
    served.registry.register(job)
    const scrape = async (): Promise<Map<string, Family>> => {
      const answer = await call(served.server, 'GET', '/metrics')
      assert.equal(answer.status, 200)
      assert.match(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
      text = answer.text
      return parsePrometheusText(text)
    }
    families = await eventually(
      'a completed checkpoint and back pressure',
      async () => {
        const f = await scrape()
        const completed = samples(f, 'weir_job_checkpoints_completed_total')[0]?.value ?? 0
        const bp = samples(f, 'weir_task_backpressured_ratio', { vertex: 'clicks' })
        return completed >= 1 && bp.length === 2 && bp.every((s) => s.value > 0.2) ? f : undefined
      },
      20_000,
      250,
    )
  })

  after(async () => {
    await stop(job)
    await served.close()
  })

  it('parses, with a TYPE and HELP for every family', () => {
    assert.ok(families.size > 20, `${families.size} families`)
    for (const f of families.values()) {
      assert.notEqual(f.type, 'untyped', `${f.name} has a TYPE`)
      assert.ok(f.help.length > 0, `${f.name} has a HELP`)
    }
    // Node.js process metrics come along.
    assert.ok(families.has('process_cpu_user_seconds_total'))
    assert.ok(families.has('nodejs_eventloop_lag_seconds'))
  })

  it('carries per-operator throughput with job, vertex, operator and subtask labels', () => {
    const out = samples(families, 'weir_operator_records_out_total', { operator: 'clicks' })
    assert.deepEqual(out.map((s) => s.labels.subtask).sort(), ['0', '1'])
    for (const s of out) {
      assert.equal(s.labels.job_id, job.jobId)
      assert.equal(s.labels.job_name, 'live-clicks')
      assert.equal(s.labels.vertex, 'clicks')
      assert.equal(s.labels.vertex_id, '0')
      assert.equal(s.labels.operator_uid, 'clicks')
      assert.ok(s.value > 0)
    }
    const enrichIn = samples(families, 'weir_operator_records_in_total', { operator: 'enrich' })
    assert.equal(enrichIn.length, 1)
    assert.ok(enrichIn[0].value > 0)
    const rate = samples(families, 'weir_operator_records_in_per_second', { operator: 'enrich' })[0]
    // At most what 400 µs per record allows (2500/s), with room for timing noise.
    assert.ok(rate.value > 0 && rate.value < 4000, `enrich rate ${rate.value}`)
    // Every operator of every subtask: 2 + 1 + 2 + 1.
    assert.equal(samples(families, 'weir_operator_records_out_per_second').length, 6)
  })

  it('carries back pressure, busy and idle ratios per task', () => {
    for (const name of ['weir_task_backpressured_ratio', 'weir_task_busy_ratio', 'weir_task_idle_ratio']) {
      const all = samples(families, name)
      assert.equal(all.length, 6, name)
      assert.ok(all.every((s) => s.value >= 0 && s.value <= 1), name)
    }
    const sources = samples(families, 'weir_task_backpressured_ratio', { vertex: 'clicks' })
    assert.ok(sources.every((s) => s.value > 0.2), `sources back-pressured: ${sources.map((s) => s.value)}`)
    const enrich = samples(families, 'weir_task_busy_ratio', { vertex: 'enrich' })[0]
    assert.ok(enrich.value > 0.5, `enrich busy ${enrich.value}`)
    assert.equal(samples(families, 'weir_task_backpressured_ratio', { vertex: 'enrich' })[0].value < sources[0].value, true)
    assert.ok(samples(families, 'weir_task_backpressured_milliseconds_total', { vertex: 'clicks' }).every((s) => s.value > 0))
  })

  it('carries watermarks per operator', () => {
    const wm = samples(families, 'weir_operator_output_watermark_milliseconds', { operator: 'clicks' })
    assert.equal(wm.length, 2)
    for (const s of wm) assert.ok(Math.abs(Date.now() - s.value) < 60_000, `watermark ${s.value} follows the clock`)
  })

  it('carries checkpoint counts, the latest checkpoint and duration and size histograms', () => {
    const completed = samples(families, 'weir_job_checkpoints_completed_total')[0].value
    assert.ok(completed >= 1)
    assert.equal(samples(families, 'weir_job_checkpoints_failed_total')[0].value, 0)
    assert.ok(samples(families, 'weir_job_last_checkpoint_duration_seconds')[0].value > 0)
    assert.ok(samples(families, 'weir_job_last_checkpoint_size_bytes')[0].value > 0)
    assert.ok(samples(families, 'weir_job_last_checkpoint_id')[0].value >= 1)
    assert.equal(families.get('weir_checkpoint_duration_seconds')?.type, 'histogram')
    const count = samples(families, 'weir_checkpoint_duration_seconds_count', { kind: 'checkpoint' })[0].value
    // Observed when scraped: some completed in the same scrape may not be counted yet.
    assert.ok(count >= 1 && count <= completed, `histogram count ${count}, completed ${completed}`)
    const inf = samples(families, 'weir_checkpoint_size_bytes_bucket', { kind: 'checkpoint', le: '+Inf' })[0].value
    assert.equal(inf, samples(families, 'weir_checkpoint_size_bytes_count', { kind: 'checkpoint' })[0].value)
    assert.equal(samples(families, 'weir_job_status', { status: 'RUNNING' })[0].value, 1)
    assert.equal(samples(families, 'weir_job_restarts_total')[0].value, 0)
  })

  it('counts each checkpoint once in the histograms across scrapes', async () => {
    for (let i = 0; i < 3; i++) {
      const f = parsePrometheusText((await call(served.server, 'GET', '/metrics')).text)
      const observed = samples(f, 'weir_checkpoint_duration_seconds_count', { kind: 'checkpoint' })[0].value
      const ended = job.checkpoints.filter((c) => c.status === 'completed' && c.kind === 'checkpoint').length
      assert.ok(observed >= 1 && observed <= ended, `scrape ${i}: observed ${observed} of ${ended} completed`)
    }
    assert.ok(text.length > 0)
  })
})
