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
  numberSource,
  readCommittedLines,
  type Source,
  type SourceSplit,
} from '../../../src/index.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-stop-'))
after(() => rmSync(root, { recursive: true, force: true }))

/** A source that never emits and never ends. */
function openEnded(): Source<number, SourceSplit, null> {
  const enumerator = { start() {}, handleSplitRequest() {}, addSplitsBack() {}, addReader() {}, snapshotState: () => null }
  return {
    boundedness: 'continuous',
    createEnumerator: () => enumerator,
    restoreEnumerator: () => enumerator,
    createReader: () => ({
      start() {},
      pollNext: () => 'nothing-available' as const,
      isAvailable: () => new Promise<void>(() => {}),
      addSplits() {},
      notifyNoMoreSplits() {},
      snapshotState: () => [],
      close() {},
    }),
  }
}

/** The same source, except that it never ends: after its input it waits forever. */
function neverEnding<T>(source: Source<T, SourceSplit, unknown>): Source<T, SourceSplit, unknown> {
  return {
    ...source,
    boundedness: 'continuous',
    createReader: (ctx) => {
      const reader = source.createReader(ctx)
      return Object.assign(Object.create(reader) as typeof reader, {
        pollNext: (output: Parameters<typeof reader.pollNext>[0]) => {
          const status = reader.pollNext(output)
          return status === 'end' ? ('nothing-available' as const) : status
        },
        isAvailable: () => new Promise<void>(() => {}),
      })
    },
  }
}

/** Counts per 10 s event-time window; the input covers 0-20 s, so without the end of time nothing fires past the watermark. */
function build(env: StreamEnvironment, out: string): void {
  const strategy = WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((n) => n * 10)
  env
    // Never ending: a bounded input would emit the end of event time when it ends.
    .fromSource(neverEnding(numberSource(1, 2000, (n) => n, { splits: 2 })), strategy, 'numbers')
    .uid('numbers')
    .union(env.fromSource(openEnded(), strategy, 'open-ended').uid('open-ended'))
    .keyBy((n) => n % 3)
    .window(TumblingEventTimeWindows.of(10_000))
    .aggregate({ createAccumulator: () => 0, add: (_n: number, c: number) => c + 1, getResult: (c: number) => c, merge: (a: number, b: number) => a + b })
    .name('count')
    .uid('count')
    .map((c) => String(c), 'format')
    .sinkTo(new ExactlyOnceFileSink<string>(out), 'sink')
    .uid('sink')
}

async function runAndStop(drain: boolean): Promise<{ lines: string[]; hasWindowState: boolean }> {
  const out = join(root, drain ? 'drained' : 'stopped')
  const env = StreamEnvironment.create({ parallelism: 2 })
  env.enableCheckpointing(3_600_000)
  build(env, out)
  const job = env.executeAsync(drain ? 'drain' : 'stop', { log: () => {} })
  while (job.tasks.flatMap((t) => t.metrics).filter((m) => m.operatorName === 'count').reduce((n, m) => n + m.recordsIn, 0) < 2000) {
    await new Promise((r) => setTimeout(r, 10))
  }
  const savepoint = await job.stopWithSavepoint({ drain, targetDirectory: join(root, 'savepoints') })
  const result = await job.result
  assert.ok(result.durationMs > 0)
  const count = savepoint.metadata.operators.find((o) => o.uid === 'count')!
  return { lines: readCommittedLines(out), hasWindowState: count.subtasks.some((s) => s !== undefined) }
}

test('stop with savepoint and --drain fires every window before the savepoint', async () => {
  const { lines, hasWindowState } = await runAndStop(true)
  // 2000 numbers over 20 s of event time: the windows 0-10 s and 10-20 s (and 20 s) of 3 keys.
  assert.equal(lines.map(Number).reduce((a, b) => a + b, 0), 2000)
  assert.equal(hasWindowState, false, 'drained windows leave no state behind')
})

test('stop with savepoint without drain keeps open windows in the savepoint and emits nothing for them', async () => {
  const { lines, hasWindowState } = await runAndStop(false)
  const emitted = lines.map(Number).reduce((a, b) => a + b, 0)
  assert.ok(emitted < 2000, `only windows the watermark passed may fire, got ${emitted} records counted`)
  assert.equal(hasWindowState, true)
})
