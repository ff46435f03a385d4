import type { OutputChannel } from './channel.ts'
import { RecordBatch, WatermarkEvent, WatermarkStatusEvent, type ChannelItem } from './stream-element.ts'
import type { ChannelSelector } from './channel-selector.ts'

/** Shared by a task's writers: set when any writer holds output its channel refused. */
export interface BackpressureFlag {
  blocked: boolean
}

/**
 * Writes one task's output to the channels of one edge. Records are gathered into a batch per
 * channel; a full batch goes to the channel if it has room, else into the channel's outbox, and the
 * task is told to stop producing until the outbox drains. So a task buffers at most one batch per
 * channel beyond what the channels hold.
 */
export class RecordWriter {
  private readonly values: unknown[][]
  private readonly timestamps: number[][]
  private readonly outbox: ChannelItem[][]
  private stuck = 0

  constructor(
    private readonly channels: OutputChannel[],
    private readonly select: ChannelSelector,
    private readonly batchSize: number,
    private readonly flag: BackpressureFlag,
  ) {
    this.values = channels.map(() => [])
    this.timestamps = channels.map(() => [])
    this.outbox = channels.map(() => [])
  }

  emit(value: unknown, timestamp: number): void {
    const c = this.select(value)
    if (c >= 0) this.append(c, value, timestamp)
    else for (let i = 0; i < this.channels.length; i++) this.append(i, value, timestamp)
  }

  private append(c: number, value: unknown, timestamp: number): void {
    const values = this.values[c]
    values.push(value)
    this.timestamps[c].push(timestamp)
    if (values.length >= this.batchSize) this.ship(c)
  }

  private ship(c: number): void {
    const values = this.values[c]
    if (values.length === 0) return
    const batch = new RecordBatch(values, this.timestamps[c])
    this.values[c] = []
    this.timestamps[c] = []
    this.send(c, batch)
  }

  private send(c: number, item: ChannelItem): void {
    const outbox = this.outbox[c]
    const channel = this.channels[c]
    if (outbox.length === 0 && (!(item instanceof RecordBatch) || channel.canAcceptBatch())) {
      channel.push(item)
      return
    }
    if (outbox.length === 0) this.stuck++
    outbox.push(item)
    this.flag.blocked = true
  }

  /** Sends a control event to every channel, after the records before it. */
  emitEvent(item: ChannelItem): void {
    for (let c = 0; c < this.channels.length; c++) {
      this.ship(c)
      this.send(c, item)
    }
  }

  /** Sends a watermark to every channel (the same one downstream combines per input). */
  emitWatermark(watermark: number): void {
    this.emitEvent(new WatermarkEvent(watermark))
  }

  /** Tells every channel that this task became idle or active. */
  emitWatermarkStatus(idle: boolean): void {
    this.emitEvent(idle ? WatermarkStatusEvent.IDLE : WatermarkStatusEvent.ACTIVE)
  }

  /**
   * Captures every record this writer emitted that its consumers have not taken yet (channel queues,
   * outboxes, partial batches), per channel, and puts `barrier` in front of each channel so it
   * overtakes them: the unaligned checkpoint's output in-flight data.
   */
  overtakeWith(barrier: ChannelItem): RecordBatch[][] {
    const captured: RecordBatch[][] = []
    for (let c = 0; c < this.channels.length; c++) {
      const batches = this.channels[c].queuedRecordBatches()
      for (const item of this.outbox[c]) if (item instanceof RecordBatch) batches.push(item)
      if (this.values[c].length > 0) batches.push(new RecordBatch([...this.values[c]], [...this.timestamps[c]]))
      captured.push(batches)
      this.channels[c].pushFront(barrier)
    }
    return captured
  }

  /** Re-sends restored in-flight records to a channel, ahead of anything new. */
  restoreInFlight(channel: number, batches: readonly RecordBatch[]): void {
    for (const batch of batches) this.send(channel, batch)
  }

  /** Sends partial batches (the task is about to wait, or a checkpoint needs them out). */
  flush(): void {
    for (let c = 0; c < this.channels.length; c++) this.ship(c)
  }

  /** Moves outbox items into channels that have room; true when nothing is held back any more. */
  drain(): boolean {
    if (this.stuck === 0) return true
    for (let c = 0; c < this.channels.length; c++) {
      const outbox = this.outbox[c]
      if (outbox.length === 0) continue
      const channel = this.channels[c]
      let i = 0
      while (i < outbox.length) {
        const item = outbox[i]
        if (item instanceof RecordBatch && !channel.canAcceptBatch()) break
        channel.push(item)
        i++
      }
      outbox.splice(0, i)
      if (outbox.length === 0) this.stuck--
    }
    return this.stuck === 0
  }

  /** Records gathered but not yet in a channel. */
  get bufferedRecords(): number {
    let n = 0
    for (const v of this.values) n += v.length
    for (const box of this.outbox) for (const item of box) if (item instanceof RecordBatch) n += item.size
    return n
  }
}
