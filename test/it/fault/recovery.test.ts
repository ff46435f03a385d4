import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { ExactlyOnceFileSink, StreamEnvironment, WatermarkStrategy, fixedDelay, numberSource, readCommittedLines, type LocalJob } from '../../../src/index.ts'
import { FailureInjector } from './failure-injector.ts'
import { buildWindowedCountJob } from './windowed-count-job.ts'

const RECORDS = 20_000
let root: string
let expected: string[]

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'weir-recovery-'))
  const env = StreamEnvironment.create({ parallelism: 3 })
  env.enableCheckpointing(5)
  buildWindowedCountJob(env, { records: RECORDS, out: join(root, 'reference') })
  await env.execute('reference')
  expected = readCommittedLines(join(root, 'reference')).sort()
})

after(() => rmSync(root, { recursive: true, force: true }))

test('at-least-once under injected failures: nothing is missing', async () => {
  for (let seed = 1; seed <= 5; seed++) {
    const injector = new FailureInjector(seed * 31, 3, RECORDS, ['record'])
    const env = StreamEnvironment.create({ parallelism: 3, channelCapacity: 2, batchSize: 64 })
    env.enableCheckpointing(5, { mode: 'at-least-once' })
    env.setRestartStrategy(fixedDelay(10, 0))
    const out = join(root, `alo-${seed}`)
    env
      .fromSource(numberSource(1, RECORDS, (n) => n, { splits: 6, batch: 64 }), WatermarkStrategy.noWatermarks(), 'numbers')
      .map((n) => {
        injector.check('record', `record ${n}`)
        return n
      }, 'inject')
      .keyBy((n) => n % 17)
      .map((n) => String(n), 'format')
      .sinkTo(new ExactlyOnceFileSink<string>(out), 'sink')
    await env.execute(`alo-${seed}`, { log: () => {} })
    const seen = new Set(readCommittedLines(out).map(Number))
    assert.ok(injector.fired.length > 0, `seed ${seed}: no failure fired`)
    for (let n = 1; n <= RECORDS; n++) if (!seen.has(n)) assert.fail(`seed ${seed}: record ${n} is missing`)
  }
})

/** Flips one byte in the middle of a file. */
function flipByte(file: string): void {
  const bytes = readFileSync(file)
  bytes[Math.floor(bytes.length / 2)] ^= 0xff
  writeFileSync(file, bytes)
}

test('a corrupt checkpoint file is detected and the job restores from the checkpoint before it', async () => {
  const checkpoints = join(root, 'corrupt-checkpoints')
  const out = join(root, 'corrupt-out')
  const logs: string[] = []
  // Filled once the job started: the injector reads the job's checkpoints through it.
  const running: { job?: LocalJob } = {}
  let corrupted: string | undefined
  const env = StreamEnvironment.create({ parallelism: 3, channelCapacity: 2, batchSize: 64 })
  env.enableCheckpointing(5, { storage: { directory: checkpoints }, retained: 3 })
  env.setRestartStrategy(fixedDelay(3, 0))
  // Once three checkpoints are complete, damage the newest one's largest state file, then fail.
  const injector = {
    check(point: string): void {
      if (point === 'record') busy(0.005)
      const job = running.job
      if (corrupted || point !== 'record' || !job) return
      const done = job.checkpoints.filter((c) => c.status === 'completed' && c.pointer)
      if (done.length < 3) return
      const dir = done[done.length - 1].pointer!
      const files = readdirSync(dir).filter((f) => f !== '_metadata')
      const largest = files.sort((a, b) => readFileSync(join(dir, b)).length - readFileSync(join(dir, a)).length)[0]
      flipByte(join(dir, largest))
      corrupted = `checkpoint ${done[done.length - 1].id}`
      throw new Error('failure after corrupting the newest checkpoint')
    },
  } as unknown as FailureInjector
  buildWindowedCountJob(env, { records: RECORDS * 5, out, injector })
  const job = env.executeAsync('corrupt', { log: (m) => logs.push(m) })
  running.job = job
  const result = await job.result
  assert.ok(corrupted, 'the job ended before three checkpoints completed')
  assert.equal(result.restarts, 1)
  const rejection = logs.find((l) => l.startsWith(`cannot restore from ${corrupted}`))
  assert.ok(rejection, `no log line rejects ${corrupted}: ${logs.join(' | ')}`)
  assert.match(rejection, /CHECKPOINT_CORRUPT|SHA-256|checksum/i)
  // Restored from an older checkpoint, the output is still exactly the failure-free one.
  const reference = join(root, 'corrupt-reference')
  const refEnv = StreamEnvironment.create({ parallelism: 3 })
  refEnv.enableCheckpointing(5)
  buildWindowedCountJob(refEnv, { records: RECORDS * 5, out: reference })
  await refEnv.execute('corrupt-reference')
  assert.deepEqual(readCommittedLines(out).sort(), readCommittedLines(reference).sort())
})

test('a job cancelled with retained checkpoints resumes from the checkpoint directory exactly-once', async () => {
  const checkpoints = join(root, 'retained-checkpoints')
  const out = join(root, 'retained-out')
  const first = StreamEnvironment.create({ parallelism: 3, channelCapacity: 2, batchSize: 64 })
  first.enableCheckpointing(5, { storage: { directory: checkpoints }, retainOnCancellation: true, retained: 2 })
  // Slow enough to be cancelled halfway.
  const slow = { check: (point: string) => void (point === 'record' && busy(0.02)) } as unknown as FailureInjector
  buildWindowedCountJob(first, { records: RECORDS, out, injector: slow })
  const job = first.executeAsync('retained', { log: () => {} })
  await waitFor(() => job.checkpoints.filter((c) => c.status === 'completed').length >= 3)
  job.cancel()
  await assert.rejects(job.result, /cancelled/)
  const latest = job.checkpoints.filter((c) => c.status === 'completed').at(-1)!
  assert.ok(latest.pointer && readdirSync(latest.pointer).includes('_metadata'), 'the retained checkpoint is on disk')

  const second = StreamEnvironment.create({ parallelism: 3 })
  second.enableCheckpointing(5, { storage: { directory: checkpoints } })
  buildWindowedCountJob(second, { records: RECORDS, out })
  await second.execute('resumed', { restoreFrom: latest.pointer! })
  assert.deepEqual(readCommittedLines(out).sort(), expected)
})

function busy(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // a slow operator
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}
