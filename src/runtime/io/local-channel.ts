import type { Signal } from '../signal.ts'
import type { InputChannel, OutputChannel } from './channel.ts'
import { RecordBatch, type ChannelItem } from './stream-element.ts'

/**
 * A bounded channel between two subtasks of one process. It holds at most `capacity` record batches;
 * a producer that finds it full keeps its batch and waits, which is how backpressure travels upstream.
 * Control events are not counted: they are small and must never be refused.
 */
export class LocalChannel implements InputChannel, OutputChannel {
  private items: ChannelItem[] = []
  private head = 0
  private queuedBatches = 0
  /** Records queued now. */
  queuedRecords = 0
  /** The most records that were ever queued at once (for backpressure tests and metrics). */
  maxQueuedRecords = 0
  /** Woken when an item arrives. */
  consumer: Signal | undefined
  /** Woken when a batch is taken (space freed). */
  producer: Signal | undefined

  constructor(
    readonly capacity: number,
    readonly name: string,
  ) {}

  /** Whether a record batch would be accepted now. */
  canAcceptBatch(): boolean {
    return this.queuedBatches < this.capacity
  }

  /** Adds an item; a batch must only be pushed after `canAcceptBatch` said yes. */
  push(item: ChannelItem): void {
    if (item instanceof RecordBatch) {
      this.queuedBatches++
      this.queuedRecords += item.size
      if (this.queuedRecords > this.maxQueuedRecords) this.maxQueuedRecords = this.queuedRecords
    }
    this.items.push(item)
    this.consumer?.notify()
  }

  /**
   * Puts an event in front of everything queued: an unaligned checkpoint barrier overtakes the
   * records ahead of it (they become the checkpoint's in-flight data).
   */
  pushFront(item: ChannelItem): void {
    if (this.head > 0) this.items[--this.head] = item
    else this.items.unshift(item)
    this.consumer?.notify()
  }

  /** The record batches queued now, oldest first (for an unaligned checkpoint's in-flight data). */
  queuedRecordBatches(): RecordBatch[] {
    const out: RecordBatch[] = []
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i]
      if (item instanceof RecordBatch) out.push(item)
    }
    return out
  }

  /** The next item, without taking it. */
  peek(): ChannelItem | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined
  }

  poll(): ChannelItem | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined as unknown as ChannelItem
    this.head++
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    if (item instanceof RecordBatch) {
      this.queuedBatches--
      this.queuedRecords -= item.size
      this.producer?.notify()
    }
    return item
  }

  get isEmpty(): boolean {
    return this.head >= this.items.length
  }
}
