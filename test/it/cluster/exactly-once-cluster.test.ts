import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { seededRandom } from '../../../examples/word-count-input.ts'
import { StreamEnvironment, readCommittedLines } from '../../../src/index.ts'
import { bundleJob } from '../../../src/runtime/cluster/bundle.ts'
import { buildWindowedCountJob } from '../fault/windowed-count-job.ts'
import { liveTaskManagers, logMessages, startTestCluster, stopTestCluster, waitUntil, withTimeout, type TestCluster } from './cluster-fixtures.ts'

/**
 * Exactly-once across processes: the fault-injection job on a cluster of a coordinator and three
 * task managers (two slots each) at parallelism 3, with task managers killed (SIGKILL) at seeded
 * moments and new ones started; the committed output must equal the failure-free output, line for
 * line. A task manager that stops answering (SIGSTOP) must be found out by the heartbeat timeout.
 */

const RECORDS = 20_000
const PARALLELISM = 3
const SEEDS = 10
const CHECKPOINT_MS = 100
/** Sleep per 1000 records per subtask: the job runs a few seconds, so kills land in the middle. */
const PACE_MS = 150
/** The default: shorter ones make busy task managers look lost on a loaded machine. */
const HEARTBEAT_TIMEOUT_MS = 3000
const JOB = fileURLToPath(new URL('./windowed-count-cluster-job.ts', import.meta.url))

let root: string
let expected: string[]
let bundle: Uint8Array
let test_: TestCluster | undefined

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'weir-cluster-eo-'))
  const env = StreamEnvironment.create({ parallelism: PARALLELISM })
  env.enableCheckpointing(5)
  buildWindowedCountJob(env, { records: RECORDS, out: join(root, 'failure-free') })
  await env.execute('failure-free')
  expected = readCommittedLines(join(root, 'failure-free')).sort()
  bundle = await bundleJob(JOB)
  test_ = await startTestCluster({
    taskManagers: 3,
    slots: 2,
    checkpointDir: join(root, 'cluster-checkpoints'),
    logDir: join(root, 'logs'),
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
  })
})

after(async () => {
  await stopTestCluster(test_)
  if (process.env.WEIR_KEEP_TEST_DIR) console.log(`kept ${root}`)
  else rmSync(root, { recursive: true, force: true })
})

function compare(label: string, lines: string[]): void {
  if (lines.length === expected.length && lines.every((l, i) => l === expected[i])) return
  const have = new Set(lines)
  const want = new Set(expected)
  const missing = expected.filter((l) => !have.has(l)).slice(0, 5)
  const extra = lines.filter((l) => !want.has(l)).slice(0, 5)
  assert.fail(`${label}: ${lines.length} lines, expected ${expected.length}; missing ${missing.join(' ')}; unexpected ${extra.join(' ')}`)
}

async function submit(name: string, out: string, unaligned = false): Promise<string> {
  const args = [String(RECORDS), out, join(root, 'job-checkpoints'), String(CHECKPOINT_MS), String(PACE_MS), unaligned ? 'unaligned' : 'aligned']
  return test_!.client.submit({ name, bundle, args, parallelism: PARALLELISM })
}

async function completedCheckpoints(jobId: string): Promise<number> {
  return (await test_!.client.checkpoints(jobId)).filter((c) => c.status === 'completed').length
}

function committed(out: string): number {
  try {
    return readCommittedLines(out).length
  } catch {
    return 0
  }
}

test(`exactly-once on a cluster with task managers killed (SIGKILL), ${SEEDS} seeds (aligned and unaligned checkpoints)`, async (t) => {
  const { cluster, client } = test_!
  let kills = 0
  const seeds = process.env.WEIR_TEST_SEEDS ? process.env.WEIR_TEST_SEEDS.split(',').map(Number) : Array.from({ length: SEEDS }, (_, i) => i + 1)
  for (const [run, seed] of seeds.entries()) {
    const random = seededRandom(seed * 7919)
    // Kills land after a seeded number of completed checkpoints: checkpoints come steadily, so
    // that is a seeded moment in the job's progress, however fast the machine is today.
    const first = 1 + Math.floor(random() * 4)
    const thresholds = random() < 0.5 ? [first] : [first, first + 1 + Math.floor(random() * 2)]
    const out = join(root, `run-${run}-seed-${seed}`)
    const started = Date.now()
    // Even seeds take unaligned checkpoints: barriers overtake records in both ends of network channels.
    const unaligned = seed % 2 === 0
    const jobId = await submit(`seed-${seed}`, out, unaligned)
    let ended = false
    const result = client.wait(jobId).finally(() => (ended = true))
    const fired: string[] = []
    for (const threshold of thresholds) {
      await waitUntil(async () => ended || (await completedCheckpoints(jobId)) >= threshold, 60_000, `seed ${seed}: ${threshold} completed checkpoints`)
      if (ended) break
      await new Promise((r) => setTimeout(r, Math.floor(random() * 100)))
      // Replacements of earlier victims join first, so the cluster never runs out of slots.
      await waitUntil(() => liveTaskManagers(cluster).length >= 3, 60_000, 'three live task managers')
      const live = liveTaskManagers(cluster)
      const victim = live[Math.floor(random() * live.length)]
      cluster.signal(victim.pid, 'SIGKILL')
      fired.push(`${victim.id} after checkpoint ${await completedCheckpoints(jobId)} (${committed(out)} lines committed)`)
      kills++
      // Its readiness is awaited before the next kill (failing there if it never comes up).
      cluster.startTaskManager().catch(() => {})
    }
    const { status, error } = await withTimeout(result, 120_000, `seed ${seed} to finish (see ${cluster.coordinator.log})`)
    assert.equal(status, 'FINISHED', `seed ${seed} (killed ${fired.join(', ')}): ${error?.message}`)
    compare(`seed ${seed} (killed ${fired.join(', ')})`, readCommittedLines(out).sort())
    t.diagnostic(`seed ${seed} (${unaligned ? 'unaligned' : 'aligned'}): killed ${fired.join(', ') || 'none (the job ended first)'}; ${Date.now() - started} ms`)
  }
  assert.ok(kills >= seeds.length, `only ${kills} task managers were killed over ${seeds.length} seeds`)
  // Every restart says which task manager was lost and why, and where the job resumes.
  const restarts = logMessages(cluster.coordinator.log).filter((m) => /; restarting job 'seed-\d+' from /.test(m))
  const explained = restarts.filter((m) => /^task manager tm-\d+ \(pid \d+\) lost: .*; restarting job 'seed-\d+' from (checkpoint \d+|the beginning) in 0 ms/.test(m))
  assert.ok(explained.length > 0 && explained.length >= restarts.length - 2, `restarts without a lost task manager as their cause:\n${restarts.filter((m) => !explained.includes(m)).join('\n')}`)
})

test('a task manager that stops answering (SIGSTOP) is found by the heartbeat timeout and the job recovers exactly-once', async () => {
  const { cluster, client } = test_!
  const out = join(root, 'stopped')
  const jobId = await submit('stopped', out)
  await waitUntil(async () => committed(out) >= expected.length * 0.3 || (await client.job(jobId)).status !== 'RUNNING', 60_000, 'progress')
  const victim = liveTaskManagers(cluster)[0]
  const stoppedAt = Date.now()
  cluster.signal(victim.pid, 'SIGSTOP')
  try {
    await waitUntil(() => logMessages(cluster.coordinator.log).some((m) => m.startsWith(`task manager ${victim.id} (pid ${victim.pid}) lost: no heartbeat for`)), 30_000, 'the heartbeat timeout')
    const detectedMs = Date.now() - stoppedAt
    assert.ok(detectedMs < HEARTBEAT_TIMEOUT_MS + 3000, `detected after ${detectedMs} ms (timeout ${HEARTBEAT_TIMEOUT_MS} ms)`)
    const { status, error } = await withTimeout(client.wait(jobId), 120_000, `the job to finish (see ${cluster.coordinator.log})`)
    assert.equal(status, 'FINISHED', error?.message)
    compare('stopped task manager', readCommittedLines(out).sort())
  } finally {
    cluster.signal(victim.pid, 'SIGKILL')
    cluster.signal(victim.pid, 'SIGCONT')
  }
  await cluster.exited(victim.pid)
})
