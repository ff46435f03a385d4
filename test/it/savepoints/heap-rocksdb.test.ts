import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import {
  ExactlyOnceFileSink,
  StreamEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  heapStateBackend,
  numberSource,
  readCommittedLines,
  rocksDBStateBackend,
  type StateBackend,
} from '../../../src/index.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-heap-rocks-'))
after(() => rmSync(root, { recursive: true, force: true }))

const RECORDS = 12_000

function busy(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // slow enough to be stopped part way
  }
}

/** A keyed rolling sum and a tumbling window count, so the savepoint holds value, reducing and window state with timers. */
function build(env: StreamEnvironment, out: string, slow: boolean): void {
  const events = env
    .fromSource(
      numberSource(1, RECORDS, (n) => ({ n, key: n % 13, ts: n * 5 }), { splits: 4, batch: 50 }),
      WatermarkStrategy.forMonotonousTimestamps<{ n: number; key: number; ts: number }>().withTimestampAssigner((e) => e.ts),
      'events',
    )
    .uid('events')
    .map((e) => {
      if (slow) busy(0.03)
      return e
    }, 'pace')
    .uid('pace')
  const keyed = events.keyBy((e) => e.key)
  const windows = keyed
    .window(TumblingEventTimeWindows.of(1000))
    .aggregate({ createAccumulator: () => 0, add: (_e: unknown, c: number) => c + 1, getResult: (c: number) => c, merge: (a: number, b: number) => a + b })
    .name('count')
    .uid('count')
    .map((c) => `count ${c}`, 'format')
    .uid('format')
  const sums = keyed
    .map((e): [number, number] => [e.key, e.n], 'value')
    .uid('value')
    .keyBy((t) => t[0])
    .sum(1)
    .uid('sum')
    .map((t) => `sum ${t[0]} ${t[1]}`, 'format-sum')
    .uid('format-sum')
  windows.union(sums).sinkTo(new ExactlyOnceFileSink<string>(out), 'sink').uid('sink')
}

async function stopAndResume(first: StateBackend, second: StateBackend, name: string): Promise<void> {
  const out = join(root, name)
  const env = StreamEnvironment.create({ parallelism: 2, stateBackend: first })
  env.enableCheckpointing(3_600_000)
  build(env, out, true)
  const job = env.executeAsync(`${name}-1`, { log: () => {} })
  await new Promise((r) => setTimeout(r, 150))
  const savepoint = await job.stopWithSavepoint({ targetDirectory: join(root, `${name}-savepoints`) })
  await job.result
  const resumed = StreamEnvironment.create({ parallelism: 3, stateBackend: second })
  resumed.enableCheckpointing(3_600_000)
  build(resumed, out, false)
  await resumed.execute(`${name}-2`, { restoreFrom: savepoint.pointer, log: () => {} })

  const reference = join(root, `${name}-reference`)
  const refEnv = StreamEnvironment.create({ parallelism: 2 })
  refEnv.enableCheckpointing(3_600_000)
  build(refEnv, reference, false)
  await refEnv.execute(`${name}-reference`)
  // Window counts are the same line for line; a rolling sum's intermediate values depend on how the
  // splits interleave, so for sums the final value per key is compared.
  const summary = (lines: string[]): string[] => {
    const finals = new Map<string, number>()
    const counts: string[] = []
    for (const line of lines) {
      const [kind, a, b] = line.split(' ')
      if (kind === 'sum') finals.set(a, Math.max(finals.get(a) ?? 0, Number(b)))
      else counts.push(line)
    }
    return [...counts.sort(), ...[...finals].sort().map(([k, v]) => `final ${k} ${v}`)]
  }
  assert.deepEqual(summary(readCommittedLines(out)), summary(readCommittedLines(reference)))
}

test('a savepoint of the heap backend restores into RocksDB (at another parallelism)', async () => {
  await stopAndResume(heapStateBackend(), rocksDBStateBackend(), 'heap-to-rocksdb')
})

test('a savepoint of the RocksDB backend restores into the heap (at another parallelism)', async () => {
  await stopAndResume(rocksDBStateBackend(), heapStateBackend(), 'rocksdb-to-heap')
})
