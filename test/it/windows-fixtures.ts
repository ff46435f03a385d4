import { ProcessFunction, type Collector, type ProcessContext } from '../../src/index.ts'

/** An event of the window tests. */
export interface Ev {
  key: string
  value: number
  ts: number
}

/** A well-mixed 32-bit hash of an index and a seed: the streams are functions of the index, so any split of them gives the same events. */
export function mix(n: number, seed: number): number {
  let t = (Math.imul(n, 0x9e3779b1) + seed) >>> 0
  t = Math.imul(t ^ (t >>> 16), 0x85ebca6b)
  t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35)
  return (t ^ (t >>> 16)) >>> 0
}

/**
 * Event `n` of an out-of-order stream: about `spacing` ms apart, each up to `bound - 1` ms earlier
 * than its slot. No event is later than the bound behind an earlier one, so with bounded
 * out-of-orderness `bound` nothing is late, whatever the parallelism (each reader reads its splits
 * in index order). `burst` leaves gaps of event time now and then, so sessions end.
 */
export function outOfOrderEvent(n: number, seed: number, keys: number, spacing: number, bound: number, burst = 0): Ev {
  const slot = n * spacing + (burst > 0 ? Math.floor(n / burst) * burst * spacing : 0)
  return { key: `k${mix(n, seed) % keys}`, value: mix(n, seed + 1) % 1000, ts: slot - (mix(n, seed + 2) % bound) }
}

/** All events 0..n-1. */
export function events(n: number, make: (i: number) => Ev): Ev[] {
  return Array.from({ length: n }, (_, i) => make(i))
}

/** Pairs each record with its timestamp, so tests can check what the windows stamped. */
export class WithTimestamp<T> extends ProcessFunction<T, [T, number]> {
  processElement(value: T, ctx: ProcessContext, out: Collector<[T, number]>): void {
    out.collect([value, ctx.timestamp() ?? Number.NaN])
  }
}

/** Values sorted by their JSON text, for order-independent comparison. */
export function sortedJson<T>(values: readonly T[]): string[] {
  return values.map((v) => JSON.stringify(v)).sort()
}

/** The windows of size `size` every `slide` (tumbling when equal) that hold `ts`, as [start, end). */
export function windowsOf(ts: number, size: number, slide: number): [number, number][] {
  const out: [number, number][] = []
  const last = ts - (((ts % slide) + slide) % slide)
  for (let start = last; start > ts - size; start -= slide) out.push([start, start + size])
  return out
}

/** Groups events by key and window, as a plain loop. */
export function groupByWindow(evs: readonly Ev[], size: number, slide: number): Map<string, { key: string; start: number; end: number; values: number[] }> {
  const groups = new Map<string, { key: string; start: number; end: number; values: number[] }>()
  for (const e of evs) {
    for (const [start, end] of windowsOf(e.ts, size, slide)) {
      const id = `${e.key}|${start}`
      let g = groups.get(id)
      if (!g) groups.set(id, (g = { key: e.key, start, end, values: [] }))
      g.values.push(e.value)
    }
  }
  return groups
}

/** Session windows per key, as a plain loop: sort each key's timestamps; a gap longer than `gap` ends a session. */
export function sessionsOf(evs: readonly Ev[], gap: number): { key: string; start: number; end: number; values: number[] }[] {
  const byKey = new Map<string, Ev[]>()
  for (const e of evs) {
    let list = byKey.get(e.key)
    if (!list) byKey.set(e.key, (list = []))
    list.push(e)
  }
  const sessions: { key: string; start: number; end: number; values: number[] }[] = []
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.ts - b.ts)
    let current: { key: string; start: number; end: number; values: number[] } | undefined
    for (const e of list) {
      // Windows [t, t + gap) that touch merge: the session goes on while ts <= its end.
      if (current && e.ts <= current.end) {
        current.end = Math.max(current.end, e.ts + gap)
        current.values.push(e.value)
      } else {
        if (current) sessions.push(current)
        current = { key, start: e.ts, end: e.ts + gap, values: [e.value] }
      }
    }
    if (current) sessions.push(current)
  }
  return sessions
}
