import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { readCommittedLines } from '../../../src/connectors/sinks/exactly-once-file-sink.ts'
import { fixedDelay } from '../../../src/runtime/restart-strategy.ts'
import { StreamEnvironment } from '../../../src/index.ts'
import { FailureInjector } from './failure-injector.ts'
import { buildWindowedCountJob } from './windowed-count-job.ts'

const RECORDS = 20_000
const PARALLELISM = 3
const SEEDS = 20
let root: string
let expected: string[]

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'weir-eo-'))
  const env = StreamEnvironment.create({ parallelism: PARALLELISM })
  env.enableCheckpointing(5)
  const out = join(root, 'failure-free')
  buildWindowedCountJob(env, { records: RECORDS, out })
  await env.execute('failure-free')
  expected = readCommittedLines(out).sort()
})

after(() => rmSync(root, { recursive: true, force: true }))

async function runWithFailures(seed: number, options: { unaligned: boolean }): Promise<{ lines: string[]; injector: FailureInjector; restarts: number }> {
  const injector = new FailureInjector(seed, 3, RECORDS)
  const env = StreamEnvironment.create({ parallelism: PARALLELISM, channelCapacity: 2, batchSize: 64 })
  env.enableCheckpointing(5, { unaligned: options.unaligned })
  env.setRestartStrategy(fixedDelay(10, 0))
  const out = join(root, `seed-${seed}-${options.unaligned ? 'u' : 'a'}`)
  buildWindowedCountJob(env, { records: RECORDS, out, injector })
  const result = await env.execute(`seed-${seed}`, { log: () => {} })
  return { lines: readCommittedLines(out).sort(), injector, restarts: result.restarts }
}

test('the failure-free run produces every window', () => {
  // 20,000 events over 140 s of event time, 17 keys: every (key, second) has a window.
  assert.ok(expected.length > 2000, `only ${expected.length} windows`)
  const total = expected.reduce((n, line) => n + Number(line.split(',')[2]), 0)
  assert.equal(total, RECORDS)
})

for (const unaligned of [false, true]) {
  test(`exactly-once under injected failures, ${SEEDS} seeds (${unaligned ? 'unaligned' : 'aligned'} checkpoints)`, async () => {
    let failures = 0
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { lines, injector, restarts } = await runWithFailures(seed, { unaligned })
      // Two failures can strike one attempt before its tasks are cancelled: at most one restart each.
      assert.ok(restarts <= injector.fired.length && (restarts > 0) === (injector.fired.length > 0), `seed ${seed}: ${restarts} restarts for ${injector.fired.length} failures`)
      failures += injector.fired.length
      if (lines.length !== expected.length || lines.some((l, i) => l !== expected[i])) {
        const missing = expected.filter((l) => !lines.includes(l)).slice(0, 5)
        const extra = lines.filter((l) => !expected.includes(l)).slice(0, 5)
        assert.fail(`seed ${seed} (failures ${injector.fired.join(', ')}): ${lines.length} lines, expected ${expected.length}; missing ${missing.join(' ')}; unexpected ${extra.join(' ')}`)
      }
    }
    assert.ok(failures >= SEEDS, `only ${failures} failures fired over ${SEEDS} seeds`)
  })
}
