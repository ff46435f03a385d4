import type { WatermarkGenerator, WatermarkOutput } from './watermark-strategy.ts'

/**
 * Wraps a generator so that its input is marked idle after `timeoutMs` of processing time without
 * events, and active again on the next event. Events are counted, not timed, so the clock is only
 * read on the periodic emit.
 */
export class WatermarksWithIdleness<T> implements WatermarkGenerator<T> {
  private events = 0
  private seenAtCheck = -1
  private quietSince = 0
  private idle = false

  constructor(
    private readonly inner: WatermarkGenerator<T>,
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {
    this.quietSince = now()
  }

  onEvent(event: T, timestamp: number, output: WatermarkOutput): void {
    this.events++
    if (this.idle) {
      this.idle = false
      output.markActive()
    }
    this.inner.onEvent(event, timestamp, output)
  }

  onPeriodicEmit(output: WatermarkOutput): void {
    const now = this.now()
    if (this.events !== this.seenAtCheck) {
      this.seenAtCheck = this.events
      this.quietSince = now
    } else if (!this.idle && now - this.quietSince >= this.timeoutMs) {
      this.idle = true
      output.markIdle()
    }
    if (!this.idle) this.inner.onPeriodicEmit(output)
  }
}
