import type { StreamTask } from '../../runtime/stream-task.ts'

/** Counters of one subtask at one instant. */
interface Sample {
  /** `performance.now()` of the reading. */
  t: number
  /** recordsIn and recordsOut of each chained operator, head first, interleaved. */
  records: number[]
  idleMs: number
  backpressuredMs: number
}

/** Rates of one subtask over the sliding window. */
export interface SubtaskRates {
  /** Per chained operator, head first. */
  recordsInPerSecond: number[]
  recordsOutPerSecond: number[]
  idleRatio: number
  backpressuredRatio: number
  busyRatio: number
}

/** How often counters are read and over how long rates are computed. */
export interface SamplerOptions {
  intervalMs: number
  windowMs: number
}

const DEFAULTS: SamplerOptions = { intervalMs: 250, windowMs: 5_000 }
/** Below this span a rate is mostly noise: report nothing yet. */
const MIN_SPAN_MS = 100

function read(task: StreamTask, now: number): Sample {
  const records: number[] = []
  for (const m of task.metrics) records.push(m.recordsIn, m.recordsOut)
  const { idleMs, backpressuredMs } = task.time.totals(now)
  return { t: now, records, idleMs, backpressuredMs }
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x)

/**
 * Reads every subtask's counters at a fixed interval and keeps the readings of the last window, so
 * rates and time ratios are the change over the window rather than averages since the start.
 * Readings are kept per task object: a restarted job has new tasks, whose counters start at zero,
 * and their window starts afresh.
 */
export class MetricsSampler {
  private readonly windows = new WeakMap<StreamTask, Sample[]>()
  private timer: NodeJS.Timeout | undefined
  readonly options: SamplerOptions

  constructor(
    private readonly tasks: () => Iterable<StreamTask>,
    options: Partial<SamplerOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options }
  }

  /** Starts sampling in the background; the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return
    this.sample()
    this.timer = setInterval(() => this.sample(), this.options.intervalMs)
    this.timer.unref()
  }

  /** Stops sampling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** Takes one reading of every task now. */
  sample(now = performance.now()): void {
    const horizon = now - this.options.windowMs - this.options.intervalMs
    for (const task of this.tasks()) {
      let samples = this.windows.get(task)
      if (!samples) this.windows.set(task, (samples = []))
      samples.push(read(task, now))
      let drop = 0
      // Keep one reading older than the window, so the window is always fully covered.
      while (drop + 1 < samples.length && samples[drop + 1].t <= horizon) drop++
      if (drop > 0) samples.splice(0, drop)
    }
  }

  /** Rates of a task between the oldest reading in the window and its live counters. */
  rates(task: StreamTask, now = performance.now()): SubtaskRates {
    const operators = task.metrics.length
    const result: SubtaskRates = {
      recordsInPerSecond: new Array<number>(operators).fill(0),
      recordsOutPerSecond: new Array<number>(operators).fill(0),
      idleRatio: 0,
      backpressuredRatio: 0,
      busyRatio: 0,
    }
    const samples = this.windows.get(task)
    if (!samples || samples.length === 0) return result
    const from = now - this.options.windowMs
    const oldest = samples.find((s) => s.t >= from) ?? samples[samples.length - 1]
    const end = task.time.endedAt === undefined ? now : Math.min(now, task.time.endedAt)
    const current = read(task, now)
    const span = now - oldest.t
    if (span < MIN_SPAN_MS) return result
    const perSecond = (i: number): number => Math.max(0, ((current.records[i] ?? 0) - (oldest.records[i] ?? 0)) * (1000 / span))
    for (let op = 0; op < operators; op++) {
      result.recordsInPerSecond[op] = perSecond(2 * op)
      result.recordsOutPerSecond[op] = perSecond(2 * op + 1)
    }
    // A task that has ended is neither busy, idle nor back-pressured any more.
    const timeSpan = end - oldest.t
    if (task.time.endedAt !== undefined || timeSpan < MIN_SPAN_MS) return result
    result.idleRatio = clamp01((current.idleMs - oldest.idleMs) / timeSpan)
    result.backpressuredRatio = clamp01((current.backpressuredMs - oldest.backpressuredMs) / timeSpan)
    result.busyRatio = clamp01(1 - result.idleRatio - result.backpressuredRatio)
    return result
  }
}
