import { MIN_WATERMARK } from './time.ts'
import type { WatermarkOutput } from './watermark-strategy.ts'

interface Part {
  watermark: number
  idle: boolean
}

/**
 * Combines the watermarks of several parts (the splits of one source reader) into one: the minimum
 * over the parts that are not idle. When every part is idle, the whole is idle.
 */
export class WatermarkMultiplexer {
  private readonly parts = new Map<string, Part>()
  private combined = MIN_WATERMARK
  private idle = false

  constructor(
    private readonly emit: (watermark: number) => void,
    private readonly setIdle: (idle: boolean) => void,
  ) {}

  /** Adds a part; until it reports a watermark it holds the combined watermark back. */
  register(id: string): WatermarkOutput {
    if (!this.parts.has(id)) this.parts.set(id, { watermark: MIN_WATERMARK, idle: false })
    this.update()
    return this.outputFor(id)
  }

  /** Removes a part (its split finished): it no longer holds anything back. */
  unregister(id: string): void {
    if (this.parts.delete(id)) this.update()
  }

  has(id: string): boolean {
    return this.parts.has(id)
  }

  get size(): number {
    return this.parts.size
  }

  private outputFor(id: string): WatermarkOutput {
    return {
      emitWatermark: (watermark) => {
        const part = this.parts.get(id)
        if (!part) return
        const wasIdle = part.idle
        part.idle = false
        if (watermark > part.watermark || wasIdle) {
          if (watermark > part.watermark) part.watermark = watermark
          this.update()
        }
      },
      markIdle: () => {
        const part = this.parts.get(id)
        if (part && !part.idle) {
          part.idle = true
          this.update()
        }
      },
      markActive: () => {
        const part = this.parts.get(id)
        if (part && part.idle) {
          part.idle = false
          this.update()
        }
      },
    }
  }

  /** Marks the whole idle when there is no part at all (a reader without splits). */
  markIdleIfEmpty(): void {
    if (this.parts.size === 0) this.changeIdle(true)
  }

  private changeIdle(idle: boolean): void {
    if (idle === this.idle) return
    this.idle = idle
    this.setIdle(idle)
  }

  private update(): void {
    let min = Number.POSITIVE_INFINITY
    let active = 0
    for (const part of this.parts.values()) {
      if (part.idle) continue
      active++
      if (part.watermark < min) min = part.watermark
    }
    if (active === 0) {
      if (this.parts.size > 0) this.changeIdle(true)
      return
    }
    if (min > this.combined) {
      this.combined = min
      // Active again before the watermark, so downstream counts this input when it advances.
      this.changeIdle(false)
      this.emit(min)
    } else {
      this.changeIdle(false)
    }
  }
}
