import type { Signal } from '../signal.ts'
import type { ChannelItem, RecordBatch } from './stream-element.ts'

/**
 * The consuming end of a channel between two subtasks: in this process (`LocalChannel`) or
 * across a network connection.
 */
export interface InputChannel {
  readonly name: string
  poll(): ChannelItem | undefined
  peek(): ChannelItem | undefined
  /** Woken when an item arrives. */
  consumer: Signal | undefined
  /**
   * The record batches an unaligned barrier overtook inside this end, taken once when the task
   * handles that barrier. Only network channels have them: there the barrier overtakes at the
   * sender and again at the receiver, and what it passed at the receiver is the consumer's
   * in-flight input (a local channel is one queue, so the sender captures everything).
   */
  takeOvertaken?(checkpointId: number): RecordBatch[] | undefined
}

/**
 * The producing end of a channel. It holds a bounded number of record batches (for a network
 * channel: as many as the receiver granted credits for, plus what it buffers to send); a producer
 * that finds it full keeps its batch and waits, which is how backpressure travels upstream.
 */
export interface OutputChannel {
  readonly name: string
  canAcceptBatch(): boolean
  /** Adds an item; a batch only after `canAcceptBatch` said yes. Events are never refused. */
  push(item: ChannelItem): void
  /** Puts an event in front of the record batches not yet consumed (an unaligned barrier). */
  pushFront(item: ChannelItem): void
  /** The record batches emitted but not consumed yet, oldest first. */
  queuedRecordBatches(): RecordBatch[]
  /** Woken when a batch is taken (space freed). */
  producer: Signal | undefined
  /** Records queued now (for backpressure figures). */
  readonly queuedRecords: number
  /** Batches the channel holds before its producer waits. */
  readonly capacity: number
}
