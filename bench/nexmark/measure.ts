/**
 * Measures one query: its baseline loop, the Weir job, and the Weir job with checkpoints, one after
 * the other in this process, each after a short warm-up of the same code.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StateBackend } from '../../src/index.ts'
import { nexmarkConfig } from './generator.ts'
import { countingSink, runBaseline, runWeir } from './harness.ts'
import type { QueryName } from './queries.ts'
import type { NexmarkProgress } from './source.ts'

/** What to measure. */
export interface MeasureSpec {
  query: QueryName
  events: number
  parallelism: number
  /** 0: no run with checkpoints. */
  checkpointIntervalMs: number
  state: 'heap' | 'rocksdb'
  /** Events per second of event time. */
  rate: number
  /** Events of the warm-up runs. */
  warmupEvents: number
  /** Rounds of the three measured runs; each figure is the median round's. */
  repeat: number
}

/** One measured run. */
export interface RunFigures {
  wallMs: number
  cpuMs: number
  rows: number
}

/** Checkpoint figures of a run with checkpoints. */
export interface CheckpointFigures {
  completed: number
  failed: number
  meanBytes: number
  maxBytes: number
  meanDurationMs: number
  maxSyncMs: number
}

/** Everything measured for one query. */
export interface QueryFigures {
  query: QueryName
  events: number
  baseline: RunFigures
  weir: RunFigures
  checkpointed: (RunFigures & { checkpoints: CheckpointFigures }) | undefined
}

/** Progress messages while a query runs. */
export type ProgressListener = (phase: string, events: number, total: number) => void

const PROGRESS_EVERY_MS = 5000

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
}

/** Creates the state backend the spec asks for; the caller has checked that it exists. */
export type BackendFactory = (directory: string) => StateBackend

async function weirRun(spec: MeasureSpec, events: number, phase: string, onProgress: ProgressListener, backend: BackendFactory | undefined, checkpointDir: string | undefined): Promise<{ figures: RunFigures; checkpoints: CheckpointFigures | undefined }> {
  const counter = { rows: 0 }
  const progress: NexmarkProgress = { events: 0 }
  const timer = setInterval(() => onProgress(phase, progress.events, events), PROGRESS_EVERY_MS)
  const stateDir = backend ? mkdtempSync(join(tmpdir(), 'weir-nexmark-state-')) : undefined
  try {
    const run = await runWeir(spec.query, {
      events,
      parallelism: spec.parallelism,
      config: nexmarkConfig({ eventsPerSecond: spec.rate }),
      checkpointIntervalMs: checkpointDir ? spec.checkpointIntervalMs : undefined,
      checkpointDirectory: checkpointDir,
      stateBackend: backend && stateDir ? backend(stateDir) : undefined,
      sink: countingSink(counter),
      progress,
    })
    const completed = run.checkpoints.filter((c) => c.status === 'completed')
    const checkpoints = checkpointDir
      ? {
          completed: completed.length,
          failed: run.checkpoints.filter((c) => c.status === 'failed').length,
          meanBytes: completed.length ? completed.reduce((n, c) => n + c.bytes, 0) / completed.length : 0,
          maxBytes: completed.reduce((n, c) => Math.max(n, c.bytes), 0),
          meanDurationMs: completed.length ? completed.reduce((n, c) => n + c.durationMs, 0) / completed.length : 0,
          maxSyncMs: completed.reduce((n, c) => Math.max(n, c.syncMs), 0),
        }
      : undefined
    return { figures: { wallMs: run.wallMs, cpuMs: run.cpuMs, rows: counter.rows }, checkpoints }
  } finally {
    clearInterval(timer)
    if (stateDir) rmSync(stateDir, { recursive: true, force: true })
  }
}

function baselineRun(spec: MeasureSpec, events: number, phase: string, onProgress: ProgressListener): RunFigures {
  let rows = 0
  let last = performance.now()
  const run = runBaseline(spec.query, {
    events,
    config: nexmarkConfig({ eventsPerSecond: spec.rate }),
    emit: () => {
      rows++
    },
    onProgress: (n) => {
      const now = performance.now()
      if (now - last < PROGRESS_EVERY_MS) return
      last = now
      onProgress(phase, n, events)
    },
  })
  return { wallMs: run.wallMs, cpuMs: run.cpuMs, rows }
}

function median<T extends { cpuMs: number }>(runs: T[]): T {
  const sorted = [...runs].sort((a, b) => a.cpuMs - b.cpuMs)
  return sorted[(sorted.length - 1) >> 1]
}

/**
 * Runs the warm-ups, then rounds of the three measured runs of one query (baseline, Weir, Weir
 * with checkpoints), interleaved so that a change in the machine's load hits every kind alike.
 */
export async function measureQuery(spec: MeasureSpec, onProgress: ProgressListener, backend: BackendFactory | undefined): Promise<QueryFigures> {
  const warmup = Math.min(spec.warmupEvents, spec.events)
  if (warmup > 0) {
    baselineRun(spec, warmup, 'warm-up', () => {})
    await weirRun(spec, warmup, 'warm-up', () => {}, backend, undefined)
  }
  const baselines: RunFigures[] = []
  const weirs: RunFigures[] = []
  const checkpointed: (RunFigures & { checkpoints: CheckpointFigures })[] = []
  const rounds = Math.max(1, spec.repeat)
  for (let round = 1; round <= rounds; round++) {
    const suffix = rounds > 1 ? ` (round ${round} of ${rounds})` : ''
    collectGarbage()
    baselines.push(baselineRun(spec, spec.events, `baseline${suffix}`, onProgress))
    collectGarbage()
    weirs.push((await weirRun(spec, spec.events, `weir${suffix}`, onProgress, backend, undefined)).figures)
    if (spec.checkpointIntervalMs > 0) {
      collectGarbage()
      const dir = mkdtempSync(join(tmpdir(), 'weir-nexmark-checkpoints-'))
      try {
        const run = await weirRun(spec, spec.events, `weir+checkpoints${suffix}`, onProgress, backend, dir)
        checkpointed.push({ ...run.figures, checkpoints: run.checkpoints! })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  return {
    query: spec.query,
    events: spec.events,
    baseline: median(baselines),
    weir: median(weirs),
    checkpointed: checkpointed.length > 0 ? median(checkpointed) : undefined,
  }
}
