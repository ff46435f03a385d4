import type { InputChannel } from './channel.ts'
import { CheckpointBarrier, type ChannelItem } from './stream-element.ts'
import { MIN_WATERMARK } from '../../time/time.ts'

/** One input channel of a task and the operator input it feeds. */
export interface GateChannel {
  channel: InputChannel
  inputIndex: 1 | 2
}

/**
 * All input channels of a task. Polls them in turn so no upstream subtask starves another, and
 * combines their watermarks: an input's watermark is the minimum over its channels still running.
 */
export class InputGate {
  private next = 0
  private readonly watermarks: number[]
  private readonly ended: boolean[]
  private readonly idle: boolean[]
  /** Channels not polled while a barrier alignment waits for the others. */
  private readonly blocked: boolean[]
  private readonly inputWatermark: [number, number] = [MIN_WATERMARK, MIN_WATERMARK]
  private endedCount = 0
  /** Channel index of the last polled item. */
  lastChannel = -1

  constructor(readonly channels: readonly GateChannel[]) {
    this.watermarks = channels.map(() => MIN_WATERMARK)
    this.ended = channels.map(() => false)
    this.idle = channels.map(() => false)
    this.blocked = channels.map(() => false)
  }

  /** Stops polling a channel (it delivered the barrier being aligned). */
  block(channel: number): void {
    this.blocked[channel] = true
  }

  /** Polls every channel again. */
  unblockAll(): void {
    this.blocked.fill(false)
  }

  /** Whether a channel has ended (sent EndOfPartition). */
  hasEnded(channel: number): boolean {
    return this.ended[channel]
  }

  poll(): ChannelItem | undefined {
    const n = this.channels.length
    for (let i = 0; i < n; i++) {
      const c = (this.next + i) % n
      if (this.blocked[c]) continue
      const item = this.channels[c].channel.poll()
      if (item !== undefined) {
        this.next = (c + 1) % n
        this.lastChannel = c
        return item
      }
    }
    return undefined
  }

  /**
   * Takes an unaligned checkpoint barrier waiting at the head of a channel, if there is one: it is
   * handled even while the task cannot emit (that is what lets it overtake backpressure).
   */
  pollPriorityBarrier(): { barrier: CheckpointBarrier; channel: number } | undefined {
    for (let c = 0; c < this.channels.length; c++) {
      const head = this.channels[c].channel.peek()
      if (head instanceof CheckpointBarrier && head.options.unaligned) {
        this.channels[c].channel.poll()
        return { barrier: head, channel: c }
      }
    }
    return undefined
  }

  /** Records a channel's watermark; returns the input's new watermark if it advanced. */
  onWatermark(channel: number, watermark: number): number | undefined {
    if (watermark <= this.watermarks[channel]) return undefined
    this.watermarks[channel] = watermark
    return this.advance(this.channels[channel].inputIndex)
  }

  /**
   * Records that a channel became idle or active. Returns the input's new watermark if excluding an
   * idle channel let it advance.
   */
  onStatus(channel: number, idle: boolean): number | undefined {
    if (this.idle[channel] === idle) return undefined
    this.idle[channel] = idle
    return idle ? this.advance(this.channels[channel].inputIndex) : undefined
  }

  /** Whether every running channel of the input (or of the task) is idle. */
  isIdle(inputIndex?: 1 | 2): boolean {
    let any = false
    for (let i = 0; i < this.channels.length; i++) {
      if (this.ended[i] || (inputIndex !== undefined && this.channels[i].inputIndex !== inputIndex)) continue
      if (!this.idle[i]) return false
      any = true
    }
    return any
  }

  /** Marks a channel ended; returns the input's new watermark if it advanced. */
  onEnd(channel: number): number | undefined {
    this.ended[channel] = true
    this.endedCount++
    return this.advance(this.channels[channel].inputIndex)
  }

  /** Whether every channel of the input (or of all inputs) has ended. */
  isEnded(inputIndex?: 1 | 2): boolean {
    if (inputIndex === undefined) return this.endedCount === this.channels.length
    return this.channels.every((c, i) => c.inputIndex !== inputIndex || this.ended[i])
  }

  private advance(inputIndex: 1 | 2): number | undefined {
    let min = Number.POSITIVE_INFINITY
    let any = false
    for (let i = 0; i < this.channels.length; i++) {
      if (this.channels[i].inputIndex !== inputIndex || this.ended[i] || this.idle[i]) continue
      any = true
      if (this.watermarks[i] < min) min = this.watermarks[i]
    }
    // When every channel ended or is idle, the input's watermark stays where the channels left it.
    if (!any) return undefined
    if (min > this.inputWatermark[inputIndex - 1]) {
      this.inputWatermark[inputIndex - 1] = min
      return min
    }
    return undefined
  }
}
