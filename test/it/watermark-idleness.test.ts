import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  StreamEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  collectSink,
  type InputStatus,
  type ReaderOutput,
  type Source,
  type SourceSplit,
} from '../../src/index.ts'

/**
 * Two splits: 'busy' emits an event every few milliseconds of wall time, forever; 'quiet' emits one
 * event at the start and then nothing, without ending.
 */
function twoSplits(): Source<{ split: string; ts: number }, SourceSplit, null> {
  const enumerator = (ctx: { assignSplit(s: SourceSplit, subtask: number): void }) => ({
    start() {
      ctx.assignSplit({ splitId: 'busy' }, 0)
      ctx.assignSplit({ splitId: 'quiet' }, 1)
    },
    handleSplitRequest() {},
    addSplitsBack() {},
    addReader() {},
    snapshotState: () => null,
  })
  return {
    boundedness: 'continuous',
    createEnumerator: enumerator,
    restoreEnumerator: enumerator,
    createReader: () => {
      let split: string | undefined
      let next = 0
      let lastEmit = 0
      return {
        start() {},
        addSplits(splits: SourceSplit[]) {
          split = splits[0]?.splitId
        },
        notifyNoMoreSplits() {},
        pollNext(output: ReaderOutput<{ split: string; ts: number }>): InputStatus {
          if (!split) return 'nothing-available'
          const out = output.createOutputForSplit?.(split) ?? output
          if (split === 'quiet') {
            if (next === 0) out.collect({ split, ts: next++ })
            return 'nothing-available'
          }
          if (Date.now() - lastEmit < 2) return 'nothing-available'
          lastEmit = Date.now()
          // Event time runs 50 times faster than the wall clock.
          out.collect({ split, ts: (next += 100) })
          return 'nothing-available'
        },
        isAvailable: () => new Promise<void>((resolve) => setTimeout(resolve, 2)),
        snapshotState: () => [],
        close() {},
      }
    },
  }
}

async function windowsFiredWithin(ms: number, idleness: number | undefined): Promise<number> {
  const env = StreamEnvironment.create({ parallelism: 2 })
  let strategy = WatermarkStrategy.forMonotonousTimestamps<{ split: string; ts: number }>().withTimestampAssigner((e) => e.ts)
  if (idleness !== undefined) strategy = strategy.withIdleness(idleness)
  const fired: number[] = []
  env
    .fromSource(twoSplits(), strategy, 'events')
    .keyBy((e) => e.split)
    .window(TumblingEventTimeWindows.of(1000))
    .aggregate({ createAccumulator: () => 0, add: (_e: unknown, n: number) => n + 1, getResult: (n: number) => n, merge: (a: number, b: number) => a + b })
    .sinkTo(collectSink(fired))
  const job = env.executeAsync('idleness', { log: () => {} })
  await new Promise((r) => setTimeout(r, ms))
  job.cancel()
  await job.result.catch(() => {})
  return fired.length
}

test('an idle split does not hold back the watermark once the idleness timeout passed', async () => {
  // Without idleness the quiet split keeps the watermark at its one event: no window of the busy split fires.
  assert.equal(await windowsFiredWithin(1500, undefined), 0)
  // With a 200 ms idleness timeout the quiet split is left out after that, and windows fire.
  const fired = await windowsFiredWithin(1500, 200)
  assert.ok(fired >= 3, `only ${fired} windows fired`)
})
