import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Command, CommanderError } from 'commander'
import { createProgram } from '../../../src/cli/main.ts'
import type { StreamTask } from '../../../src/runtime/stream-task.ts'
import { TaskTimeMetrics } from '../../../src/runtime/operator-metrics.ts'
import { MetricsSampler } from '../../../src/web/metrics/sampler.ts'
import { backpressureLevel, watermarkValue } from '../../../src/web/metrics/job-views.ts'

/** A task as the sampler sees it: counters of its operators and where its time went. */
function fakeTask(): { task: StreamTask; ops: { recordsIn: number; recordsOut: number }[]; time: { idleMs: number; backpressuredMs: number; endedAt: number | undefined } } {
  const ops = [
    { recordsIn: 0, recordsOut: 0 },
    { recordsIn: 0, recordsOut: 0 },
  ]
  const time = { idleMs: 0, backpressuredMs: 0, endedAt: undefined as number | undefined }
  const task = {
    metrics: ops,
    time: { totals: () => ({ idleMs: time.idleMs, backpressuredMs: time.backpressuredMs }), get endedAt() { return time.endedAt } },
  } as unknown as StreamTask
  return { task, ops, time }
}

describe('metrics model', () => {
  it('computes rates and time ratios over the sliding window, not since the start', () => {
    const { task, ops, time } = fakeTask()
    const sampler = new MetricsSampler(() => [task], { intervalMs: 100, windowMs: 1000 })
    // A first second at 100 records/s, then 1000 records/s: the window sees only the latter.
    for (let t = 0; t <= 1000; t += 100) {
      ops[0].recordsIn = t / 10
      sampler.sample(t)
    }
    for (let t = 1100; t <= 3000; t += 100) {
      ops[0].recordsIn = 100 + (t - 1000)
      ops[0].recordsOut = (t - 1000) * 2
      ops[1].recordsIn = (t - 1000) * 2
      // 30 % back-pressured, 20 % idle from here on.
      time.backpressuredMs = (t - 1000) * 0.3
      time.idleMs = (t - 1000) * 0.2
      sampler.sample(t)
    }
    const r = sampler.rates(task, 3000)
    assert.ok(Math.abs(r.recordsInPerSecond[0] - 1000) < 1e-6, `in ${r.recordsInPerSecond[0]}`)
    assert.ok(Math.abs(r.recordsOutPerSecond[0] - 2000) < 1e-6)
    assert.ok(Math.abs(r.recordsInPerSecond[1] - 2000) < 1e-6)
    assert.equal(r.recordsOutPerSecond[1], 0)
    assert.ok(Math.abs(r.backpressuredRatio - 0.3) < 1e-9)
    assert.ok(Math.abs(r.idleRatio - 0.2) < 1e-9)
    assert.ok(Math.abs(r.busyRatio - 0.5) < 1e-9)
  })

  it('reports nothing before a window has any span, and no time ratios once a task ended', () => {
    const { task, ops, time } = fakeTask()
    const sampler = new MetricsSampler(() => [task], { intervalMs: 100, windowMs: 1000 })
    assert.deepEqual(sampler.rates(task, 0).recordsInPerSecond, [0, 0])
    sampler.sample(0)
    ops[0].recordsIn = 50
    assert.equal(sampler.rates(task, 10).recordsInPerSecond[0], 0, 'a 10 ms span is noise')
    assert.equal(sampler.rates(task, 500).recordsInPerSecond[0], 100)
    time.endedAt = 400
    time.idleMs = 200
    const ended = sampler.rates(task, 500)
    assert.deepEqual([ended.idleRatio, ended.backpressuredRatio, ended.busyRatio], [0, 0, 0])
  })

  it('keeps a bounded number of readings', () => {
    const { task } = fakeTask()
    const sampler = new MetricsSampler(() => [task], { intervalMs: 100, windowMs: 1000 })
    for (let t = 0; t < 100_000; t += 100) sampler.sample(t)
    const readings = (sampler as unknown as { windows: WeakMap<StreamTask, unknown[]> }).windows.get(task)!
    assert.ok(readings.length <= 13, `${readings.length} readings kept`)
  })

  it('measures idle and back-pressured time of a task, including a wait in progress', async () => {
    const time = new TaskTimeMetrics()
    time.beginWait('backpressured')
    await new Promise((r) => setTimeout(r, 30))
    assert.ok(time.totals().backpressuredMs >= 25, 'a wait in progress counts')
    time.endWait()
    time.beginWait('idle')
    await new Promise((r) => setTimeout(r, 20))
    time.end()
    const totals = time.totals()
    assert.ok(totals.idleMs >= 15 && totals.backpressuredMs >= 25)
    assert.ok(time.endedAt !== undefined)
    const later = time.totals(performance.now() + 10_000)
    assert.deepEqual(later, totals, 'nothing accrues after the end')
  })

  it('formats watermarks and back pressure levels as Flink does', () => {
    assert.equal(watermarkValue(Number.NEGATIVE_INFINITY), null)
    assert.equal(watermarkValue(Number.POSITIVE_INFINITY), Number.MAX_SAFE_INTEGER)
    assert.equal(watermarkValue(1234), 1234)
    assert.deepEqual([0, 0.1, 0.11, 0.5, 0.51, 1].map(backpressureLevel), ['ok', 'ok', 'low', 'low', 'high', 'high'])
  })
})

describe('weir run --web options', () => {
  function parse(args: string[]): Promise<unknown> {
    const program = createProgram()
    const run = program.commands.find((c) => c.name() === 'run') as Command
    for (const c of [program, run]) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} })
    // Stop before running anything: only the parsing is under test.
    run.action(() => {})
    return program.parseAsync(['node', 'weir', ...args])
  }

  it('rejects a bad port or log level with a clear message', async () => {
    await assert.rejects(parse(['run', 'job.ts', '--web', '--port', '70000']), (e: unknown) => e instanceof CommanderError && /port number, 0 to 65535/.test(e.message))
    await assert.rejects(parse(['run', 'job.ts', '--web', '--port', 'http']), (e: unknown) => e instanceof CommanderError && /port/.test(e.message))
    await assert.rejects(parse(['run', 'job.ts', '--log-level', 'loud']), (e: unknown) => e instanceof CommanderError && /one of trace, debug, info/.test(e.message))
  })

  it('accepts --web, --port 0, --host and --log-level', async () => {
    const program = createProgram()
    const run = program.commands.find((c) => c.name() === 'run') as Command
    let seen: Record<string, unknown> = {}
    run.action((_job: string, _args: string[], opts: Record<string, unknown>) => void (seen = opts))
    const webOptions = (): unknown[] => [seen.web, seen.port, seen.host, seen.logLevel]
    await program.parseAsync(['node', 'weir', 'run', 'job.ts', '--web', '--port', '0', '--host', '::1', '--log-level', 'warn'])
    assert.deepEqual(webOptions(), [true, 0, '::1', 'warn'])
    await program.parseAsync(['node', 'weir', 'run', 'job.ts'])
    assert.deepEqual(webOptions(), [undefined, 8081, '127.0.0.1', 'info'])
  })
})
