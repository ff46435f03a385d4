import { WeirError } from '../../errors.ts'
import type { Signal } from '../signal.ts'
import type { InputChannel, OutputChannel } from '../io/channel.ts'
import { CheckpointBarrier, EndOfPartition, RecordBatch, type ChannelItem } from '../io/stream-element.ts'

/** What a network channel end needs of its connection. */
export interface ChannelLink {
  sendItem(stream: number, channel: number, item: ChannelItem): void
  sendCredit(stream: number, channel: number, credits: number): void
  /** Frames sent until `uncork` may go out together. */
  cork?(): void
  uncork?(): void
}

/**
 * The sending end of a channel to a subtask in another process, with credit-based flow control as
 * Flink's netty shuffle: the receiver grants one credit per free buffer (a record batch), and a
 * batch goes on the wire only against a credit. Batches without credit wait here, at most
 * `capacity` of them; a full queue refuses batches, and that refusal is the backpressure the
 * producing task feels. Events need no credit but keep their place behind the batches before
 * them, except an unaligned barrier, which goes to the front.
 */
export class RemoteOutputChannel implements OutputChannel {
  private queue: ChannelItem[] = []
  private queuedBatches = 0
  private credits = 0
  /** Set by the receiver's first credit announcement: before it, nothing is sent. */
  private connected = false
  private released = false
  /** The end of partition went out: nothing more to send, credits are ignored. */
  private finished = false
  /** Records queued now. */
  queuedRecords = 0
  /** The most records that were ever queued at once. */
  maxQueuedRecords = 0
  /** Batches sent, for metrics. */
  sentBatches = 0
  /** Woken when a batch leaves (space freed). */
  producer: Signal | undefined

  constructor(
    readonly capacity: number,
    readonly name: string,
    readonly stream: number,
    readonly index: number,
    private readonly link: ChannelLink,
  ) {}

  canAcceptBatch(): boolean {
    return this.queuedBatches < this.capacity
  }

  push(item: ChannelItem): void {
    if (item instanceof RecordBatch) {
      this.queuedBatches++
      this.queuedRecords += item.size
      if (this.queuedRecords > this.maxQueuedRecords) this.maxQueuedRecords = this.queuedRecords
    }
    this.queue.push(item)
    this.pump()
  }

  pushFront(item: ChannelItem): void {
    this.queue.unshift(item)
    this.pump()
  }

  queuedRecordBatches(): RecordBatch[] {
    return this.queue.filter((item): item is RecordBatch => item instanceof RecordBatch)
  }

  /** Credits the receiver grants (its first announcement also opens the channel). */
  addCredit(credits: number): void {
    if (this.finished) return
    this.connected = true
    this.credits += credits
    this.pump()
  }

  /** Outstanding credits, for tests and metrics. */
  get availableCredits(): number {
    return this.credits
  }

  /** Drops whatever is queued; the channel sends nothing more. */
  release(): void {
    this.released = true
    this.queue = []
    this.queuedBatches = 0
    this.queuedRecords = 0
  }

  private pump(): void {
    if (!this.connected || this.released || this.queue.length === 0) return
    let freed = false
    let sent = 0
    const queue = this.queue
    this.link.cork?.()
    while (sent < queue.length) {
      const item = queue[sent]
      if (item instanceof RecordBatch) {
        if (this.credits === 0) break
        this.credits--
        this.queuedBatches--
        this.queuedRecords -= item.size
        this.sentBatches++
        freed = true
      }
      this.link.sendItem(this.stream, this.index, item)
      sent++
      if (item instanceof EndOfPartition) {
        this.finished = true
        break
      }
    }
    this.link.uncork?.()
    if (sent > 0) queue.splice(0, sent)
    if (freed) this.producer?.notify()
  }
}

/**
 * The receiving end of a channel from a subtask in another process. It holds at most `capacity`
 * record batches, because that is all the credit it ever grants; each batch the task takes
 * returns one credit to the sender. Credits go back a few at a time (a quarter of the capacity),
 * and all at once when the queue runs empty, since the sender may then be waiting for them.
 * An unaligned barrier overtakes the batches queued here, which
 * the task then stores as the checkpoint's in-flight input (`takeOvertaken`).
 */
export class RemoteInputChannel implements InputChannel {
  private items: ChannelItem[] = []
  private head = 0
  private queuedBatches = 0
  private readonly overtaken = new Map<number, RecordBatch[]>()
  private released = false
  /** Credits freed but not sent to the sender yet. */
  private unannounced = 0
  private readonly creditBatch: number
  /** Records queued now. */
  queuedRecords = 0
  /** The most records that were ever queued at once. */
  maxQueuedRecords = 0
  /** Batches received, for metrics. */
  receivedBatches = 0
  /** Woken when an item arrives. */
  consumer: Signal | undefined

  constructor(
    readonly capacity: number,
    readonly name: string,
    readonly stream: number,
    readonly index: number,
    private readonly link: ChannelLink,
  ) {
    this.creditBatch = Math.max(1, Math.floor(capacity / 4))
  }

  /** Opens the channel: grants the sender a credit for every buffer. */
  announce(): void {
    this.link.sendCredit(this.stream, this.index, this.capacity)
  }

  /** An item arrived from the sender. */
  deliver(item: ChannelItem): void {
    if (this.released) return
    if (item instanceof RecordBatch) {
      if (this.queuedBatches >= this.capacity) {
        throw new WeirError('PROTOCOL_ERROR', `Channel ${this.name} received a batch without credit (${this.queuedBatches} of ${this.capacity} buffers in use)`)
      }
      this.queuedBatches++
      this.receivedBatches++
      this.queuedRecords += item.size
      if (this.queuedRecords > this.maxQueuedRecords) this.maxQueuedRecords = this.queuedRecords
      this.items.push(item)
    } else if (item instanceof CheckpointBarrier && item.options.unaligned) {
      const passed: RecordBatch[] = []
      for (let i = this.head; i < this.items.length; i++) {
        const queued = this.items[i]
        if (queued instanceof RecordBatch) passed.push(queued)
      }
      this.overtaken.set(item.checkpointId, passed)
      if (this.head > 0) this.items[--this.head] = item
      else this.items.unshift(item)
    } else {
      this.items.push(item)
    }
    this.consumer?.notify()
  }

  takeOvertaken(checkpointId: number): RecordBatch[] | undefined {
    const passed = this.overtaken.get(checkpointId)
    this.overtaken.delete(checkpointId)
    return passed
  }

  peek(): ChannelItem | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined
  }

  poll(): ChannelItem | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined as unknown as ChannelItem
    this.head++
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    if (item instanceof RecordBatch) {
      this.queuedBatches--
      this.queuedRecords -= item.size
      if (++this.unannounced >= this.creditBatch || this.queuedBatches === 0) {
        if (!this.released) this.link.sendCredit(this.stream, this.index, this.unannounced)
        this.unannounced = 0
      }
    }
    return item
  }

  /** Drops the channel: nothing more is delivered or credited. */
  release(): void {
    this.released = true
  }
}
