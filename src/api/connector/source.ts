import type { TypeSerializer } from '../serialization/type-serializer.ts'

/**
 * Sources follow Flink's split model (FLIP-27): an enumerator, run once per job, finds the splits
 * (files, ranges, partitions) and hands them to readers, one per subtask; a reader's splits carry
 * their current position, so they are its checkpointed state and a restore resumes from them.
 */

/** A piece of input a reader works on; carries its own position. */
export interface SourceSplit {
  readonly splitId: string
}

/** Whether a source ends. */
export type Boundedness = 'bounded' | 'continuous'

/** What the enumerator may do: hand out splits, say there are no more. */
export interface SplitEnumeratorContext<Split extends SourceSplit> {
  readonly parallelism: number
  assignSplit(split: Split, subtask: number): void
  signalNoMoreSplits(subtask: number): void
}

/** Runs once per job; decides which reader gets which split. */
export interface SplitEnumerator<Split extends SourceSplit, EnumState> {
  start(): void
  /** A reader asks for work. */
  handleSplitRequest(subtask: number): void
  /** Splits come back from a failed reader, to be assigned again. */
  addSplitsBack(splits: Split[], subtask: number): void
  /** A reader has started (also after a restore). */
  addReader(subtask: number): void
  snapshotState(checkpointId: number): EnumState
  close?(): void
}

/** What a reader knows of its place. */
export interface SourceReaderContext {
  readonly subtaskIndex: number
  readonly parallelism: number
  /** Asks the enumerator for a split. */
  sendSplitRequest(): void
}

/** What `pollNext` reports. */
export type InputStatus = 'more' | 'nothing-available' | 'end'

/** Where a reader emits the records of one split. */
export interface SourceOutput<T> {
  /** A timestamp, when given, is the record's event time (a timestamp assigner may override it). */
  collect(value: T, timestamp?: number): void
}

/**
 * Where a reader emits records. Readers that read several splits should emit each split's records
 * through `createOutputForSplit`, so each split gets its own watermark generator and the reader's
 * watermark is the minimum over its splits (as in Flink); records collected here directly share one.
 */
export interface ReaderOutput<T> extends SourceOutput<T> {
  createOutputForSplit?(splitId: string): SourceOutput<T>
  /** The split is finished: it no longer holds the watermark back. */
  releaseOutputForSplit?(splitId: string): void
}

/** Reads its assigned splits; runs inside the source task, one per subtask. */
export interface SourceReader<T, Split extends SourceSplit> {
  start(): void
  /**
   * Emits what is ready now, at most a batch (a few hundred records), and says whether more is ready.
   * Synchronous: readers that fetch asynchronously buffer ahead and drain here.
   */
  pollNext(output: ReaderOutput<T>): InputStatus
  /** Resolves when `pollNext` may have something again after it said 'nothing-available'. */
  isAvailable(): Promise<void>
  addSplits(splits: Split[]): void
  notifyNoMoreSplits(): void
  /** The splits this reader holds, with their current positions. */
  snapshotState(checkpointId: number): Split[]
  notifyCheckpointComplete?(checkpointId: number): void
  close(): void | Promise<void>
}

/** A source of records: a factory of enumerators and readers. */
export interface Source<T, Split extends SourceSplit = SourceSplit, EnumState = unknown> {
  readonly boundedness: Boundedness
  createEnumerator(context: SplitEnumeratorContext<Split>): SplitEnumerator<Split, EnumState>
  restoreEnumerator(context: SplitEnumeratorContext<Split>, state: EnumState): SplitEnumerator<Split, EnumState>
  createReader(context: SourceReaderContext): SourceReader<T, Split>
  /** Serializer of splits in checkpoints; msgpack when absent. */
  readonly splitSerializer?: TypeSerializer<Split>
  /** Readers this source can use at most (a non-parallel source says 1). */
  readonly maxParallelism?: number
}
