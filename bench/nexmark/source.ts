import type { InputStatus, ReaderOutput, Source, SourceReader, SourceSplit } from '../../src/index.ts'
import { StaticSplitEnumerator } from '../../src/connectors/sources/sequence-source.ts'
import { SplitOutputs } from '../../src/connectors/sources/split-outputs.ts'
import { DEFAULT_NEXMARK_CONFIG, NexmarkGenerator, type NexmarkConfig } from './generator.ts'
import type { NexmarkEvent } from './model.ts'

/**
 * Some of the positions of the stream: `next`, `next + stride`, ... below `end`. Split k of s
 * starts at k with stride s, so every split covers the whole event-time range at the same pace:
 * readers' watermarks advance together and no split holds back the others' windows (contiguous
 * ranges would put each split in a different stretch of event time).
 */
export interface NexmarkSplit extends SourceSplit {
  /** The next position to emit: the split's checkpointed position. */
  next: number
  /** Exclusive. */
  end: number
  stride: number
}

/** Counts emitted events across all readers, for progress reports. */
export interface NexmarkProgress {
  events: number
}

/** Options of a Nexmark source. */
export interface NexmarkSourceOptions {
  /** Number of events (positions 0 to events - 1). */
  events: number
  config?: NexmarkConfig
  /** Splits to cut the stream into; one per reader by default. */
  splits?: number
  /** Events per poll. */
  batch?: number
  /** Incremented by every reader as it emits. */
  progress?: NexmarkProgress
}

/** Reads its splits round robin, a batch at a time, so they stay at the same event time. */
class NexmarkReader implements SourceReader<NexmarkEvent, NexmarkSplit> {
  private readonly splits: NexmarkSplit[] = []
  private turn = 0
  private noMoreSplits = false
  private waiting: (() => void) | undefined
  private readonly outputs = new SplitOutputs<NexmarkEvent>()
  private readonly generator: NexmarkGenerator

  constructor(
    config: NexmarkConfig,
    private readonly batch: number,
    private readonly progress: NexmarkProgress | undefined,
  ) {
    this.generator = new NexmarkGenerator(config)
  }

  start(): void {}

  pollNext(output: ReaderOutput<NexmarkEvent>): InputStatus {
    if (this.splits.length === 0) return this.noMoreSplits ? 'end' : 'nothing-available'
    if (this.turn >= this.splits.length) this.turn = 0
    const split = this.splits[this.turn]
    const out = this.outputs.outputFor(output, split.splitId, this.splits)
    const generator = this.generator
    const { end, stride } = split
    let p = split.next
    let emitted = 0
    for (; p < end && emitted < this.batch; p += stride, emitted++) {
      const event = generator.event(p)
      out.collect(event, event.dateTime)
    }
    split.next = p
    if (this.progress) this.progress.events += emitted
    if (p >= end) {
      this.splits.splice(this.turn, 1)
      this.outputs.release(output, split.splitId)
    } else {
      this.turn++
    }
    if (this.splits.length > 0) return 'more'
    return this.noMoreSplits ? 'end' : 'nothing-available'
  }

  isAvailable(): Promise<void> {
    if (this.splits.length > 0 || this.noMoreSplits) return Promise.resolve()
    return new Promise((resolve) => (this.waiting = resolve))
  }

  private wake(): void {
    const w = this.waiting
    this.waiting = undefined
    w?.()
  }

  addSplits(splits: NexmarkSplit[]): void {
    for (const s of splits) this.splits.push({ ...s })
    this.wake()
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true
    this.wake()
  }

  snapshotState(): NexmarkSplit[] {
    return this.splits.map((s) => ({ ...s }))
  }

  close(): void {}
}

/** The splits of a stream of `events` positions. */
export function nexmarkSplits(events: number, splits: number): NexmarkSplit[] {
  const count = Math.max(1, Math.min(splits, events))
  const out: NexmarkSplit[] = []
  for (let k = 0; k < count; k++) if (k < events) out.push({ splitId: `nexmark-${k}-of-${count}`, next: k, end: events, stride: count })
  return out
}

/**
 * A bounded, splittable, replayable source of Nexmark events. Records carry their event time
 * (`dateTime`) as timestamp; give the stream a watermark strategy (the reference allows 4 s of
 * out-of-orderness: `WatermarkStrategy.forBoundedOutOfOrderness(4000)`).
 */
export function nexmarkSource(options: NexmarkSourceOptions): Source<NexmarkEvent, NexmarkSplit, NexmarkSplit[]> {
  const { events, splits, progress } = options
  if (!Number.isSafeInteger(events) || events < 0) throw new RangeError(`A Nexmark source needs a number of events >= 0, got ${events}`)
  const config = options.config ?? DEFAULT_NEXMARK_CONFIG
  const batch = options.batch ?? 256
  return {
    boundedness: 'bounded',
    createEnumerator: (context) => new StaticSplitEnumerator(context, nexmarkSplits(events, splits ?? context.parallelism)),
    restoreEnumerator: (context, state) => new StaticSplitEnumerator(context, state),
    createReader: () => new NexmarkReader(config, batch, progress),
  }
}
