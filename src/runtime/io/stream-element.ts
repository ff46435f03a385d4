/**
 * What flows through a channel between tasks. Records travel in batches (parallel arrays, so a batch
 * of a thousand records is two arrays, not a thousand objects); control events travel alone, in order
 * with the batches around them.
 */

/** A batch of records with their timestamps. */
export class RecordBatch {
  constructor(
    readonly values: unknown[],
    readonly timestamps: number[],
  ) {}
  get size(): number {
    return this.values.length
  }
}

/** Event time has advanced to `watermark` on this channel. */
export class WatermarkEvent {
  constructor(readonly watermark: number) {}
}

/** The upstream subtask became idle (sends no records, so its watermark must not hold others back) or active again. */
export class WatermarkStatusEvent {
  static readonly IDLE = new WatermarkStatusEvent(true)
  static readonly ACTIVE = new WatermarkStatusEvent(false)
  private constructor(readonly idle: boolean) {}
}

/** What a checkpoint barrier asks for. */
export interface CheckpointOptions {
  kind: 'checkpoint' | 'savepoint'
  /** Exactly-once aligns barriers; at-least-once does not block inputs. */
  mode: 'exactly-once' | 'at-least-once'
  /** Barriers overtake in-flight records, which are stored with the checkpoint (exactly-once only). */
  unaligned: boolean
  /** Savepoints only: the directory to write into instead of the job's default. */
  targetDirectory?: string
}

/**
 * Splits a channel's stream into what belongs to checkpoint `checkpointId` (before) and what comes
 * after. A task snapshots once the barrier arrived on all its inputs.
 */
export class CheckpointBarrier {
  constructor(
    readonly checkpointId: number,
    readonly timestamp: number,
    readonly options: CheckpointOptions,
  ) {}
}

/**
 * The upstream subtask has finished: nothing more comes on this channel. `STOPPED` means the job was
 * stopped with a savepoint (without drain): downstream operators must not flush at end of input,
 * since the job resumes from the savepoint later.
 */
export class EndOfPartition {
  static readonly INSTANCE = new EndOfPartition(false)
  static readonly STOPPED = new EndOfPartition(true)
  private constructor(readonly stopped: boolean) {}
}

/** Anything a channel carries. */
export type ChannelItem = RecordBatch | WatermarkEvent | WatermarkStatusEvent | CheckpointBarrier | EndOfPartition
