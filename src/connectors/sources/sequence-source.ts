import { SplitOutputs } from './split-outputs.ts'
import type { InputStatus, ReaderOutput, Source, SourceReader, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../../api/connector/source.ts'

/** A range of numbers; `next` is the position (the first number not yet emitted). */
export interface NumberRangeSplit extends SourceSplit {
  next: number
  /** Exclusive. */
  end: number
}

/** Hands every split out up front, round robin over the readers, then says there are no more. */
export class StaticSplitEnumerator<Split extends SourceSplit> implements SplitEnumerator<Split, Split[]> {
  constructor(
    private readonly context: SplitEnumeratorContext<Split>,
    private unassigned: Split[],
  ) {}
  start(): void {
    const p = this.context.parallelism
    this.unassigned.forEach((split, i) => this.context.assignSplit(split, i % p))
    this.unassigned = []
    for (let s = 0; s < p; s++) this.context.signalNoMoreSplits(s)
  }
  handleSplitRequest(): void {}
  addSplitsBack(splits: Split[], subtask: number): void {
    for (const split of splits) this.context.assignSplit(split, subtask)
  }
  addReader(): void {}
  snapshotState(): Split[] {
    return this.unassigned
  }
}

/** Emits the numbers of its splits, a batch per poll. */
class NumberRangeReader<T> implements SourceReader<T, NumberRangeSplit> {
  private readonly splits: NumberRangeSplit[] = []
  private noMoreSplits = false
  private waiting: (() => void) | undefined
  private readonly outputs = new SplitOutputs<T>()

  constructor(
    private readonly map: (n: number) => T,
    private readonly batch: number,
  ) {}

  start(): void {}

  pollNext(output: ReaderOutput<T>): InputStatus {
    const split = this.splits[0]
    if (!split) return this.noMoreSplits ? 'end' : 'nothing-available'
    const stop = Math.min(split.end, split.next + this.batch)
    const map = this.map
    const out = this.outputs.outputFor(output, split.splitId, this.splits)
    for (let n = split.next; n < stop; n++) out.collect(map(n))
    split.next = stop
    if (stop >= split.end) {
      this.splits.shift()
      this.outputs.release(output, split.splitId)
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

  addSplits(splits: NumberRangeSplit[]): void {
    for (const s of splits) this.splits.push({ ...s })
    this.wake()
  }
  notifyNoMoreSplits(): void {
    this.noMoreSplits = true
    this.wake()
  }
  snapshotState(): NumberRangeSplit[] {
    return this.splits.map((s) => ({ ...s }))
  }
  close(): void {}
}

/** Options of a number-range source. */
export interface NumberSourceOptions {
  /** How many splits to cut the range into (default 8; readers get them round robin). */
  splits?: number
  /** Records per poll. */
  batch?: number
}

/**
 * A bounded, splittable, replayable source of the numbers `from` to `to` (inclusive), each turned into a
 * record by `map`. Deterministic: a restore resumes each split at its checkpointed position.
 */
export function numberSource<T>(from: number, to: number, map: (n: number) => T, options: NumberSourceOptions = {}): Source<T, NumberRangeSplit, NumberRangeSplit[]> {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from - 1) {
    throw new RangeError(`A number source needs integers from <= to + 1, got ${from} and ${to}`)
  }
  const splitCount = Math.max(1, Math.min(options.splits ?? 8, to - from + 1))
  const batch = options.batch ?? 256
  const total = to - from + 1
  return {
    boundedness: 'bounded',
    createEnumerator: (context) => {
      const splits: NumberRangeSplit[] = []
      for (let i = 0; i < splitCount; i++) {
        const start = from + Math.floor((total * i) / splitCount)
        const end = from + Math.floor((total * (i + 1)) / splitCount)
        if (end > start) splits.push({ splitId: `range-${start}-${end}`, next: start, end })
      }
      return new StaticSplitEnumerator(context, splits)
    },
    restoreEnumerator: (context, state) => new StaticSplitEnumerator(context, state),
    createReader: () => new NumberRangeReader(map, batch),
  }
}

/** A bounded source of the given items, in order, read by one reader. */
export function collectionSource<T>(items: readonly T[]): Source<T, NumberRangeSplit, NumberRangeSplit[]> {
  const copy = [...items]
  return { ...numberSource(0, copy.length - 1, (i) => copy[i], { splits: 1 }), maxParallelism: 1 }
}
