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

/** The upstream subtask has finished: nothing more comes on this channel. */
export class EndOfPartition {
  static readonly INSTANCE = new EndOfPartition()
}

/** Anything a channel carries. */
export type ChannelItem = RecordBatch | WatermarkEvent | WatermarkStatusEvent | EndOfPartition
