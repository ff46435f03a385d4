import { WeirError } from '../errors.ts'
import type { Cancellable, ProcessingTimeService } from './processing-time-service.ts'

interface Scheduled {
  readonly time: number
  /** Breaks ties between equal times so callbacks fire in the order they were scheduled. */
  readonly seq: number
  readonly callback: (time: number) => void
  cancelled: boolean
}

/**
 * Processing time whose clock only moves when told to, for tests and deterministic replays.
 * `setProcessingTime(t)` fires every due callback synchronously, earliest first (ties in scheduling
 * order), including callbacks that earlier ones schedule for a time up to `t`. A callback scheduled
 * for a time that has already passed waits for the next `setProcessingTime`/`advance`, as a real
 * task runs it at its next turn rather than inside the caller.
 */
export class ManualProcessingTimeService implements ProcessingTimeService {
  private time: number
  private seq = 0
  /** Sorted by (time, seq); tests keep few callbacks, so an ordered array beats a heap for clarity. */
  private readonly queue: Scheduled[] = []
  private stopped = false

  constructor(initialTime = 0) {
    this.time = initialTime
  }

  now(): number {
    return this.time
  }

  schedule(time: number, callback: (time: number) => void): Cancellable {
    if (this.stopped) return { cancel: () => {} }
    const entry: Scheduled = { time, seq: this.seq++, callback, cancelled: false }
    this.queue.splice(this.insertionIndex(entry), 0, entry)
    return {
      cancel: () => {
        if (entry.cancelled) return
        entry.cancelled = true
        const i = this.queue.indexOf(entry)
        if (i >= 0) this.queue.splice(i, 1)
      },
    }
  }

  /**
   * Moves the clock to `time` and fires what is due. An error thrown by a callback propagates; the
   * callbacks after it stay queued for the next call.
   */
  setProcessingTime(time: number): void {
    if (Number.isNaN(time) || time < this.time) {
      throw new WeirError('INVALID_ARGUMENT', `Processing time cannot go back from ${this.time} to ${time}`)
    }
    this.time = time
    this.fireDue()
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.setProcessingTime(this.time + ms)
  }

  /** Callbacks scheduled and not yet fired or cancelled. */
  numPendingCallbacks(): number {
    return this.queue.length
  }

  /** The time of the earliest pending callback, if any. */
  nextScheduledTime(): number | undefined {
    return this.queue[0]?.time
  }

  /** Drops every pending callback and ignores later ones, as a stopped task does. */
  shutdown(): void {
    this.stopped = true
    for (const entry of this.queue) entry.cancelled = true
    this.queue.length = 0
  }

  private fireDue(): void {
    while (!this.stopped && this.queue.length > 0 && this.queue[0].time <= this.time) {
      const entry = this.queue.shift()!
      entry.cancelled = true
      entry.callback(entry.time)
    }
  }

  private insertionIndex(entry: Scheduled): number {
    let lo = 0
    let hi = this.queue.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const other = this.queue[mid]
      if (other.time < entry.time || (other.time === entry.time && other.seq < entry.seq)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
