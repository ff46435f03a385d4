import type { InputStatus, ReaderOutput, SourceReader, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../../api/connector/source.ts'
import { WeirError } from '../../errors.ts'
import { SplitOutputs } from '../sources/split-outputs.ts'
import { newMetrics, type ConnectorMetrics, type Metered } from './metrics.ts'

/**
 * What an enumerator that failed to discover its splits hands each reader instead: the reader throws
 * it when it receives it, inside its task, so the job fails with the enumerator's error (the
 * enumerator itself has no way to fail the job).
 */
export interface SplitFailure {
  code: string
  message: string
}

/** A split that may carry an enumerator's failure instead of work. */
export type MaybeFailedSplit = SourceSplit & { failure?: SplitFailure }

/** A record fetched ahead, with the position its split reaches once the record is emitted. */
interface FetchedRecord<T, P> {
  splitId: string
  value: T
  timestamp: number | undefined
  position: P
  bytes: number
  end?: false
}

/** Marks the end of a bounded split: everything before it was emitted. */
interface SplitEnd {
  splitId: string
  end: true
}

type Fetched<T, P> = FetchedRecord<T, P> | SplitEnd

/**
 * The part every reader of an asynchronous client shares: fetch loops (in the subclass) put records
 * into a bounded buffer; `pollNext`, synchronous, drains it and moves each split's position forward
 * only as its records are emitted, so a checkpoint holds exactly the position after the last record
 * that went into the job, whatever was fetched beyond it.
 */
export abstract class BufferedSplitReader<T, Split extends MaybeFailedSplit, P> implements SourceReader<T, Split>, Metered {
  /** The splits held, by id, each with the position after its last emitted record. */
  protected readonly splits = new Map<string, Split>()
  readonly metrics: ConnectorMetrics = newMetrics()
  /** Aborted on close: fetch loops end, sleeps wake up. */
  protected readonly closing = new AbortController()
  private queue: Fetched<T, P>[] = []
  private head = 0
  private failure: unknown
  private noMoreSplits = false
  private dataWaiter: (() => void) | undefined
  private spaceWaiters: (() => void)[] = []
  private readonly outputs = new SplitOutputs<T>()

  constructor(
    /** Records buffered ahead at most; fetch loops wait when it is full. */
    protected readonly capacity: number,
    /** Records emitted per `pollNext` at most. */
    private readonly batch: number,
  ) {}

  /** A split was added: start reading it from its position. */
  protected abstract startSplit(split: Split): void
  /** The split's position after a record was emitted. */
  protected abstract advance(split: Split, position: P): void
  /** A copy of a split for a checkpoint. */
  protected abstract copySplit(split: Split): Split

  start(): void {}

  pollNext(output: ReaderOutput<T>): InputStatus {
    if (this.failure !== undefined) throw this.failure
    const queue = this.queue
    const stop = Math.min(queue.length, this.head + this.batch)
    let emitted = 0
    while (this.head < stop) {
      const item = queue[this.head++]
      const split = this.splits.get(item.splitId)
      if (!split) continue
      if (item.end) {
        this.splits.delete(item.splitId)
        this.outputs.release(output, item.splitId)
        continue
      }
      this.outputs.outputFor(output, item.splitId, this.splits.values()).collect(item.value, item.timestamp)
      this.advance(split, item.position)
      this.metrics.recordsOut++
      this.metrics.bytesOut += item.bytes
      emitted++
    }
    if (this.head === queue.length) {
      this.queue = []
      this.head = 0
    } else if (this.head > 4096 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head)
      this.head = 0
    }
    if (emitted > 0 || this.spaceWaiters.length > 0) this.wakeSpace()
    if (this.head < this.queue.length) return 'more'
    if (this.noMoreSplits && this.splits.size === 0) return 'end'
    return 'nothing-available'
  }

  isAvailable(): Promise<void> {
    if (this.buffered > 0 || this.failure !== undefined || (this.noMoreSplits && this.splits.size === 0)) return Promise.resolve()
    return new Promise((resolve) => (this.dataWaiter = resolve))
  }

  addSplits(splits: Split[]): void {
    for (const split of splits) {
      if (split.failure) throw new WeirError(split.failure.code, split.failure.message)
      const own = this.copySplit(split)
      this.splits.set(own.splitId, own)
      this.startSplit(own)
    }
    this.wakeData()
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true
    this.wakeData()
  }

  snapshotState(_checkpointId?: number): Split[] {
    return [...this.splits.values()].map((s) => this.copySplit(s))
  }

  abstract close(): void | Promise<void>

  /** Records waiting in the buffer. */
  protected get buffered(): number {
    return this.queue.length - this.head
  }

  /** True once the reader is closing: fetch loops should stop. */
  protected get closed(): boolean {
    return this.closing.signal.aborted
  }

  /** Buffers a fetched record. Fetch loops call `waitForSpace` before each fetch, so the buffer overshoots by one fetch at most. */
  protected offerNow(splitId: string, value: T, timestamp: number | undefined, position: P, bytes: number): void {
    this.queue.push({ splitId, value, timestamp, position, bytes })
    this.metrics.recordsIn++
    this.metrics.bytesIn += bytes
    this.wakeData()
  }

  /** Resolves once the buffer has room for `records` more (or the reader closes). */
  protected async waitForSpace(records = 1): Promise<void> {
    while (this.buffered + records > this.capacity && this.buffered > 0 && !this.closed) await new Promise<void>((resolve) => this.spaceWaiters.push(resolve))
  }

  /** A bounded split has no more records: it ends once what was buffered before this is emitted. */
  protected endSplit(splitId: string): void {
    this.queue.push({ splitId, end: true })
    this.wakeData()
  }

  /** A failure that ends the job: `pollNext` throws it. */
  protected fail(error: unknown): void {
    if (this.closed) return
    this.failure ??= error
    this.wakeData()
  }

  private wakeData(): void {
    const waiter = this.dataWaiter
    this.dataWaiter = undefined
    waiter?.()
  }

  private wakeSpace(): void {
    const waiters = this.spaceWaiters
    this.spaceWaiters = []
    for (const w of waiters) w()
  }

  /** Wakes every fetch loop waiting for space, so it sees the reader is closing. */
  protected releaseWaiters(): void {
    this.closing.abort()
    this.wakeSpace()
  }
}

/** What an enumerator of discovered splits keeps in checkpoints. */
export interface DiscoveryState<Split> {
  /** False until discovery completed: a restore then discovers again. */
  discovered: boolean
  /** Discovered splits not handed to a reader yet. */
  unassigned: Split[]
}

/**
 * An enumerator whose splits need a round trip to the service (partitions of a topic, key ranges of
 * a table). Discovery runs once; its splits are dealt out round robin, in the order discovery gives
 * them. When discovery fails, every reader receives the failure and the job fails with it.
 */
export class DiscoveringSplitEnumerator<Split extends MaybeFailedSplit> implements SplitEnumerator<Split, DiscoveryState<Split>> {
  private state: DiscoveryState<Split>
  private closed = false

  constructor(
    private readonly context: SplitEnumeratorContext<Split>,
    private readonly discover: () => Promise<Split[]>,
    /** Bounded sources end once every split was read; continuous ones wait for more. */
    private readonly bounded: boolean,
    restored?: DiscoveryState<Split>,
  ) {
    this.state = restored ?? { discovered: false, unassigned: [] }
  }

  start(): void {
    if (this.state.discovered) {
      this.assignAll()
      return
    }
    this.discover().then(
      (splits) => {
        if (this.closed) return
        this.state = { discovered: true, unassigned: splits }
        this.assignAll()
      },
      (error: unknown) => {
        if (this.closed) return
        const failure: SplitFailure =
          error instanceof WeirError ? { code: error.code, message: error.message } : { code: 'SOURCE_DISCOVERY_FAILED', message: error instanceof Error ? error.message : String(error) }
        for (let s = 0; s < this.context.parallelism; s++) this.context.assignSplit({ splitId: `failed-discovery-${s}`, failure } as Split, s)
      },
    )
  }

  private assignAll(): void {
    const p = this.context.parallelism
    this.state.unassigned.forEach((split, i) => this.context.assignSplit(split, i % p))
    this.state.unassigned = []
    if (this.bounded) for (let s = 0; s < p; s++) this.context.signalNoMoreSplits(s)
  }

  handleSplitRequest(): void {}

  addSplitsBack(splits: Split[], subtask: number): void {
    for (const split of splits) this.context.assignSplit(split, subtask)
  }

  addReader(): void {}

  snapshotState(): DiscoveryState<Split> {
    return { discovered: this.state.discovered, unassigned: [...this.state.unassigned] }
  }

  close(): void {
    this.closed = true
  }
}
