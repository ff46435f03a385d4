import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ensureInputFile } from '../../../examples/word-count-input.ts'
import { isAlive, stopProcesses } from '../../../src/runtime/cluster/local-cluster.ts'

/**
 * The cluster from the command line, as a user runs it: `weir cluster start`, `weir run --cluster`
 * of the word-count example, `weir list`, `weir cancel`, `weir cluster stop`, each a new process
 * of bin/weir.js.
 */

const run = promisify(execFile)
const WEIR = fileURLToPath(new URL('../../../bin/weir.js', import.meta.url))
const EXAMPLE = fileURLToPath(new URL('../../../examples/word-count.ts', import.meta.url))
const ENDLESS = fileURLToPath(new URL('./endless-job.ts', import.meta.url))

let cwd: string

async function weir(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [WEIR, ...args], { cwd, timeout: 120_000 })
    return stdout
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`weir ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error })
  }
}

/** The pids `weir cluster start` recorded, for cleaning up whatever a failed test left. */
function recordedPids(): number[] {
  const file = join(cwd, '.weir', 'cluster.json')
  if (!existsSync(file)) return []
  const recorded = JSON.parse(readFileSync(file, 'utf8')) as { coordinator: { pid: number }; taskManagers: { pid: number }[] }
  return [recorded.coordinator.pid, ...recorded.taskManagers.map((t) => t.pid)]
}

let started: number[] = []

before(() => {
  cwd = mkdtempSync(join(tmpdir(), 'weir-cluster-cli-'))
})

after(async () => {
  await stopProcesses([...started, ...recordedPids()].filter(isAlive), 2000)
  rmSync(cwd, { recursive: true, force: true })
})

function countWords(text: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const word of text.split(/\W+/)) if (word) counts.set(word.toLowerCase(), (counts.get(word.toLowerCase()) ?? 0) + 1)
  return counts
}

test('weir cluster start, run --cluster, list, cancel and cluster stop', async () => {
  const startOutput = await weir('cluster', 'start', '--task-managers', '2', '--slots', '2', '--port', '0')
  started = recordedPids()
  assert.equal(started.length, 3)
  assert.ok(started.every(isAlive))
  const address = /listening on (\S+)/.exec(startOutput)?.[1]
  assert.ok(address, startOutput)
  assert.match(startOutput, /Task manager tm-1: pid \d+/)
  assert.match(startOutput, /Task manager tm-2: pid \d+/)

  // The word-count example, bundled and run on the cluster at parallelism 2.
  const input = ensureInputFile(join(cwd, 'input.txt'), 20_000)
  const out = join(cwd, 'out')
  const runOutput = await weir('run', '--cluster', address, EXAMPLE, input, out, '-p', '2')
  assert.match(runOutput, /Job 'word-count' submitted to .*: [0-9a-f]{32}/)
  assert.match(runOutput, /Job 'word-count' \([0-9a-f]{32}\) finished in/)
  const counted = new Map<string, number>()
  for (const file of readdirSync(out)) {
    for (const line of readFileSync(join(out, file), 'utf8').split('\n')) {
      if (!line) continue
      const [word, n] = line.split(' ')
      counted.set(word, Number(n))
    }
  }
  assert.deepEqual(counted, countWords(readFileSync(input, 'utf8')))

  // A job that runs until cancelled, submitted without waiting.
  const detached = await weir('run', '--cluster', address, '--detached', ENDLESS)
  const jobId = /submitted to .*: ([0-9a-f]{32})/.exec(detached)?.[1]
  assert.ok(jobId, detached)
  const listed = await weir('list')
  assert.match(listed, /JOB ID\s+NAME\s+STATUS/)
  assert.match(listed, new RegExp(`${jobId}\\s+endless-job\\s+(RUNNING|CREATED)`))
  assert.match(listed, /[0-9a-f]{32}\s+word-count\s+FINISHED/)

  const cancelled = await weir('cancel', '--cluster', address, jobId.slice(0, 8))
  assert.match(cancelled, new RegExp(`Job 'endless-job' \\(${jobId}\\): CANCELED`))
  assert.match(await weir('list', '--cluster', address), new RegExp(`${jobId}\\s+endless-job\\s+CANCELED`))

  const stopped = await weir('cluster', 'stop')
  assert.match(stopped, /Cluster stopped/)
  assert.ok(!existsSync(join(cwd, '.weir', 'cluster.json')))
  assert.deepEqual(started.filter(isAlive), [])
})
