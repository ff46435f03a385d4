/**
 * Live clicks: an endless, paced stream of page clicks, enriched by a deliberately slow step and
 * counted per page in one-second event-time windows, with a checkpoint every second. It runs until
 * cancelled, so it is the job to watch on the dashboard:
 *
 *   weir run examples/live-clicks.ts --web                 # then open http://127.0.0.1:8081
 *   weir run examples/live-clicks.ts --web -- 4000 200     # 4000 clicks/s, 200 µs per click
 *   weir run examples/live-clicks.ts --web -- 2000 100 5000
 *                                                          # and one failure after 5000 clicks
 *
 * Arguments: clicks per second (default 2000), CPU microseconds the enrich step spends per click
 * (default 150; raise it past 1e6 / rate to see the source back-pressured), and a click count
 * after which the enrich step fails once (default never), to see a restart from a checkpoint.
 */
import {
  TumblingEventTimeWindows,
  WatermarkStrategy,
  defineJob,
  fixedDelay,
  type InputStatus,
  type ReaderOutput,
  type Sink,
  type Source,
  type SourceReader,
  type SourceSplit,
  type SplitEnumerator,
  type SplitEnumeratorContext,
} from '../src/index.ts'

/** A click on a page. */
export interface Click {
  user: number
  page: string
  /** Event time, epoch ms. */
  ts: number
}

/** One paced stream of clicks: click n happens at `startTime + n * 1000 / ratePerSecond`. */
interface ClickSplit extends SourceSplit {
  next: number
  startTime: number
  ratePerSecond: number
}

const PAGES = ['/', '/search', '/cart', '/checkout', '/help', '/product/1', '/product/2', '/product/3']

/** A deterministic hash of n, so a replay after a restore produces the very same clicks. */
function mix(n: number): number {
  let h = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

function clickAt(split: ClickSplit, n: number, index: number): Click {
  const h = mix(n * 31 + index)
  return { user: h % 1000, page: PAGES[(h >>> 10) % PAGES.length], ts: Math.floor(split.startTime + (n * 1000) / split.ratePerSecond) }
}

class ClickEnumerator implements SplitEnumerator<ClickSplit, ClickSplit[]> {
  constructor(
    private readonly context: SplitEnumeratorContext<ClickSplit>,
    private unassigned: ClickSplit[],
  ) {}
  start(): void {
    this.unassigned.forEach((split, i) => this.context.assignSplit(split, i % this.context.parallelism))
    this.unassigned = []
  }
  handleSplitRequest(): void {}
  addSplitsBack(splits: ClickSplit[], subtask: number): void {
    for (const split of splits) this.context.assignSplit(split, subtask)
  }
  addReader(): void {}
  snapshotState(): ClickSplit[] {
    return this.unassigned
  }
}

/** Emits each split's clicks when their time has come; behind schedule (after a restore) it catches up. */
class ClickReader implements SourceReader<Click, ClickSplit> {
  private readonly splits: ClickSplit[] = []
  private waiting: (() => void) | undefined
  private timer: NodeJS.Timeout | undefined

  start(): void {}

  pollNext(output: ReaderOutput<Click>): InputStatus {
    const now = Date.now()
    let emitted = 0
    for (const split of this.splits) {
      const due = Math.floor(((now - split.startTime) * split.ratePerSecond) / 1000)
      const index = Number(split.splitId.slice('clicks-'.length))
      // Each split's clicks through its own output, so each split has its own watermark.
      const out = output.createOutputForSplit?.(split.splitId) ?? output
      for (; split.next <= due && emitted < 256; split.next++, emitted++) out.collect(clickAt(split, split.next, index))
    }
    return emitted >= 256 ? 'more' : 'nothing-available'
  }

  isAvailable(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve
      // Clicks come at a steady pace: look again when about a batch is due.
      this.timer = setTimeout(() => this.wake(), 10)
    })
  }

  private wake(): void {
    const w = this.waiting
    this.waiting = undefined
    w?.()
  }

  addSplits(splits: ClickSplit[]): void {
    for (const s of splits) this.splits.push({ ...s })
    this.wake()
  }
  notifyNoMoreSplits(): void {}
  snapshotState(): ClickSplit[] {
    return this.splits.map((s) => ({ ...s }))
  }
  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.wake()
  }
}

/** An endless source of `ratePerSecond` clicks per second, in `splits` paced streams. */
export function clickSource(ratePerSecond: number, splits = 2): Source<Click, ClickSplit, ClickSplit[]> {
  return {
    boundedness: 'continuous',
    createEnumerator: (context) => {
      const startTime = Date.now()
      const perSplit = ratePerSecond / splits
      return new ClickEnumerator(
        context,
        Array.from({ length: splits }, (_, i) => ({ splitId: `clicks-${i}`, next: 0, startTime, ratePerSecond: perSplit })),
      )
    },
    restoreEnumerator: (context, state) => new ClickEnumerator(context, state),
    createReader: () => new ClickReader(),
  }
}

/** Keeps the latest count of each page (what a dashboard would show). */
function latestCounts(): Sink<[string, number]> {
  return {
    createWriter: () => {
      const latest = new Map<string, number>()
      return { write: ([page, n]) => void latest.set(page, n), flush: () => {}, close: () => latest.clear() }
    },
  }
}

/** Set once the enrich step has failed, so it fails only in the first attempt. */
let failedOnce = false

/** clicks (2 readers) -> enrich (1, slow) -> per-page counts in 1 s windows (2) -> sink (1). */
export default defineJob((env, args) => {
  const rate = Number(args[0] ?? 2000)
  const costMicros = Number(args[1] ?? 150)
  const failAfter = args[2] === undefined ? Number.POSITIVE_INFINITY : Number(args[2])
  // Small batches: a checkpoint barrier queues behind less of the slow step's work.
  env.config.batchSize = 64
  env.enableCheckpointing(1000)
  env.setRestartStrategy(fixedDelay(3, 1000))
  let seen = 0
  env
    .fromSource(clickSource(rate, 2), WatermarkStrategy.forBoundedOutOfOrderness<Click>(200).withTimestampAssigner((c) => c.ts), 'clicks')
    .uid('clicks')
    .setParallelism(2)
    .rebalance()
    .map((click: Click): [string, number] => {
      if (++seen > failAfter && !failedOnce) {
        failedOnce = true
        throw new Error(`enrich failed on purpose after ${failAfter} clicks`)
      }
      const until = performance.now() + costMicros / 1000
      while (performance.now() < until) {
        // The slow step: a lookup that takes `costMicros` of CPU per click.
      }
      return [click.page, 1]
    }, 'enrich')
    .uid('enrich')
    .setParallelism(1)
    .keyBy(([page]) => page)
    .window(TumblingEventTimeWindows.of(1000))
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .name('page-counts')
    .uid('page-counts')
    .setParallelism(2)
    .sinkTo(latestCounts(), 'sink')
    .uid('sink')
    .setParallelism(1)
})
