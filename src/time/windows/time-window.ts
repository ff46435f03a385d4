import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { WeirError } from '../../errors.ts'
import { Window } from './window.ts'

/** A window of event or processing time: `[start, end)`, start inclusive, end exclusive. */
export class TimeWindow extends Window {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    super()
  }

  /** `end - 1`: the last millisecond in the window. */
  maxTimestamp(): number {
    return this.end - 1
  }

  key(): string {
    return `${this.start},${this.end}`
  }

  /** Whether the windows overlap or touch: touching session windows merge into one. */
  intersects(other: TimeWindow): boolean {
    return this.start <= other.end && this.end >= other.start
  }

  /** The smallest window that holds both. */
  cover(other: TimeWindow): TimeWindow {
    return new TimeWindow(Math.min(this.start, other.start), Math.max(this.end, other.end))
  }

  override toString(): string {
    return `TimeWindow{start=${this.start}, end=${this.end}}`
  }

  /**
   * The start of the window of `windowSize` (aligned to `offset` from the epoch) that holds
   * `timestamp`. Correct for negative timestamps too, where `%` alone would round the wrong way.
   */
  static getWindowStartWithOffset(timestamp: number, offset: number, windowSize: number): number {
    const remainder = (timestamp - offset) % windowSize
    return remainder < 0 ? timestamp - (remainder + windowSize) : timestamp - remainder
  }

  /**
   * Groups overlapping windows and reports each group of more than one window with the window that
   * covers it (the merge step of session windows).
   */
  static mergeWindows(windows: readonly TimeWindow[], callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void): void {
    const sorted = [...windows].sort((a, b) => a.start - b.start || a.end - b.end)
    const groups: { cover: TimeWindow; members: Map<string, TimeWindow> }[] = []
    let current: { cover: TimeWindow; members: Map<string, TimeWindow> } | undefined
    for (const candidate of sorted) {
      if (current === undefined) current = { cover: candidate, members: new Map([[candidate.key(), candidate]]) }
      else if (current.cover.intersects(candidate)) {
        current.cover = current.cover.cover(candidate)
        current.members.set(candidate.key(), candidate)
      } else {
        groups.push(current)
        current = { cover: candidate, members: new Map([[candidate.key(), candidate]]) }
      }
    }
    if (current !== undefined) groups.push(current)
    // Equal windows count once, so a window that is only added again is not a merge.
    for (const group of groups) if (group.members.size > 1) callback([...group.members.values()], group.cover)
  }
}

/** Start and end as two big-endian 64-bit floats (16 bytes). */
export const timeWindowSerializer: TypeSerializer<TimeWindow> = {
  id: 'time-window',
  version: 1,
  serialize(window) {
    const out = new Uint8Array(16)
    const view = new DataView(out.buffer)
    view.setFloat64(0, window.start)
    view.setFloat64(8, window.end)
    return out
  },
  deserialize(bytes) {
    if (bytes.byteLength !== 16) throw new WeirError('CORRUPT_STATE', `A time window takes 16 bytes, got ${bytes.byteLength}`)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return new TimeWindow(view.getFloat64(0), view.getFloat64(8))
  },
}
