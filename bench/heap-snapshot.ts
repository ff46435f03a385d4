/**
 * Asynchronous snapshots of the heap keyed backend: the synchronous pause of `beginSnapshot()`
 * against the total time of the steps that serialize, for 1,000,000 keys of ValueState<number> and
 * of MapState; the same serialization done by a plain loop over plain Maps as the baseline; and the
 * state access hot path with no snapshot, during one and after one.
 *
 * Run: node --import tsx bench/heap-snapshot.ts [keys] [stepSize]
 */
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { internalPackr, Types } from '../src/api/serialization/types.ts'
import { MapStateDescriptor, ValueStateDescriptor } from '../src/state/descriptors.ts'
import { HeapKeyedStateBackend } from '../src/state/heap/index.ts'
import { keyGroupForKey, KeyGroupRange } from '../src/state/key-groups.ts'
import { VOID_NAMESPACE, type KeyedStateBackend, type PendingKeyedSnapshot } from '../src/state/keyed-state-backend.ts'
import { serializeKey } from '../src/state/key-serialization.ts'
import type { KeyedStateSnapshot } from '../src/state/snapshot.ts'

const KEYS = Number(process.argv[2] ?? 1_000_000)
const STEP = Number(process.argv[3] ?? 1000)
const MAX_PARALLELISM = 128
const MAP_ENTRIES = 3

const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`)
const userKeys = Array.from({ length: MAP_ENTRIES }, (_, i) => `u${i}`)

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6
}

// Collections are forced between phases so one phase's garbage is not charged to the next.
setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void

// Pauses of the collector, to tell them apart from the snapshot's own work in the longest step.
const gcPauses: PerformanceEntry[] = []
new PerformanceObserver((list) => gcPauses.push(...list.getEntries())).observe({ entryTypes: ['gc'] })
const flushObserver = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 500))

function gcWithin(start: number, end: number): number {
  let total = 0
  for (const pause of gcPauses) {
    const from = Math.max(start, pause.startTime)
    const to = Math.min(end, pause.startTime + pause.duration)
    if (to > from) total += to - from
  }
  return total
}

function newBackend(): HeapKeyedStateBackend {
  return new HeapKeyedStateBackend({ maxParallelism: MAX_PARALLELISM, keyGroupRange: new KeyGroupRange(0, MAX_PARALLELISM - 1) })
}

function bytesOf(snapshot: KeyedStateSnapshot): number {
  let total = 0
  for (const bytes of snapshot.keyGroups.values()) total += bytes.length
  return total
}

function sameBytes(a: KeyedStateSnapshot, b: Map<number, Uint8Array>): boolean {
  if (a.keyGroups.size !== b.size) return false
  for (const [group, bytes] of a.keyGroups) {
    const other = b.get(group)
    if (other === undefined || Buffer.compare(Buffer.from(bytes), Buffer.from(other)) !== 0) return false
  }
  return true
}

interface Run {
  pauseMs: number
  pauseGcMs: number
  stepsMs: number
  steps: number
  longest: { ms: number; gcMs: number }
  /** The longest step without the collector's pauses in it: the snapshot's own work. */
  longestNet: { ms: number; gcMs: number }
  /** The step that used the most CPU time (other processes on the machine do not count in it). */
  longestCpuMs: number
  gcMs: number
  snapshot: KeyedStateSnapshot
}

/** Begins a snapshot and steps it to the end, calling `between` after each step as a task would process records. */
async function runSnapshot(backend: KeyedStateBackend, between?: () => void): Promise<Run> {
  collect()
  const beginAt = performance.now()
  const begin = process.hrtime.bigint()
  const pending: PendingKeyedSnapshot = backend.beginSnapshot()
  const pauseMs = ms(begin)
  const pauseWindow: [number, number] = [beginAt, performance.now()]
  let stepsMs = 0
  let steps = 0
  const windows: [number, number][] = []
  let longestCpuMs = 0
  for (;;) {
    const cpu = process.cpuUsage()
    const start = performance.now()
    const done = pending.step(STEP)
    const end = performance.now()
    const used = process.cpuUsage(cpu)
    longestCpuMs = Math.max(longestCpuMs, (used.user + used.system) / 1e3)
    windows.push([start, end])
    stepsMs += end - start
    steps++
    if (done) break
    between?.()
  }
  await flushObserver()
  let gcMs = 0
  let longest = { ms: 0, gcMs: 0 }
  let longestNet = { ms: 0, gcMs: 0 }
  for (const [start, end] of windows) {
    const gc = gcWithin(start, end)
    gcMs += gc
    if (end - start > longest.ms) longest = { ms: end - start, gcMs: gc }
    if (end - start - gc > longestNet.ms - longestNet.gcMs) longestNet = { ms: end - start, gcMs: gc }
  }
  return { pauseMs, pauseGcMs: gcWithin(...pauseWindow), stepsMs, steps, longest, longestNet, longestCpuMs, gcMs, snapshot: pending.result() }
}

/** The synchronous pause alone, begun and discarded repeatedly: the median. */
function medianPause(backend: KeyedStateBackend): number {
  const pauses: number[] = []
  for (let i = 0; i < 21; i++) {
    const start = process.hrtime.bigint()
    const pending = backend.beginSnapshot()
    pauses.push(ms(start))
    pending.discard()
  }
  return pauses.sort((a, b) => a - b)[10]
}

function report(label: string, run: Run, baselineMs: number | undefined): void {
  const total = run.pauseMs + run.stepsMs
  console.log(label)
  console.log(`  beginSnapshot() pause   ${run.pauseMs.toFixed(3)} ms, of which garbage collection ${run.pauseGcMs.toFixed(3)} ms`)
  console.log(`  all steps (of ${STEP})    ${run.stepsMs.toFixed(1)} ms in ${run.steps} steps, of which garbage collection ${run.gcMs.toFixed(1)} ms`)
  console.log(`  longest step            ${run.longest.ms.toFixed(1)} ms, of which garbage collection ${run.longest.gcMs.toFixed(1)} ms`)
  console.log(`  longest step net of GC  ${(run.longestNet.ms - run.longestNet.gcMs).toFixed(1)} ms; most CPU in a step ${run.longestCpuMs.toFixed(1)} ms (a key group is packed in one piece)`)
  console.log(`  pause / total           ${((run.pauseMs / total) * 100).toFixed(4)} %`)
  console.log(`  snapshot size           ${(bytesOf(run.snapshot) / 1e6).toFixed(1)} MB`)
  if (baselineMs !== undefined) {
    console.log(`  plain loop (baseline)   ${baselineMs.toFixed(1)} ms; engine total / baseline ${(total / baselineMs).toFixed(2)}`)
  }
}

/** Plain Maps per key group, filled with the same keys: what a hand-written program would hold. */
function plainGroups<V>(value: (i: number) => V, count = KEYS): Map<string, V>[] {
  const groups = Array.from({ length: MAX_PARALLELISM }, () => new Map<string, V>())
  for (let i = 0; i < count; i++) groups[keyGroupForKey(keys[i], MAX_PARALLELISM)].set(keys[i], value(i))
  return groups
}

// The void namespace's bytes: one shared empty array, as the backend writes it.
const NO_BYTES = new Uint8Array(0)

/** The serialization `snapshot()` does, by hand: per key group, one packed array of entries. */
function plainValueSnapshot(groups: Map<string, number>[]): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>()
  for (let group = 0; group < groups.length; group++) {
    const entries: [Uint8Array, Uint8Array, unknown][] = []
    for (const [key, value] of groups[group]) entries.push([serializeKey(key), NO_BYTES, [Types.number.serialize(value), 0]])
    if (entries.length > 0) out.set(group, internalPackr.pack([[0, entries]]))
  }
  return out
}

function plainMapSnapshot(groups: Map<string, Map<string, number>>[]): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>()
  for (let group = 0; group < groups.length; group++) {
    const entries: [Uint8Array, Uint8Array, unknown][] = []
    for (const [key, map] of groups[group]) {
      const payload: [Uint8Array, Uint8Array, number][] = []
      for (const [userKey, value] of map) payload.push([Types.string.serialize(userKey), Types.number.serialize(value), 0])
      entries.push([serializeKey(key), NO_BYTES, payload])
    }
    if (entries.length > 0) out.set(group, internalPackr.pack([[0, entries]]))
  }
  return out
}

function time<T>(fn: () => T): [T, number] {
  collect()
  const start = process.hrtime.bigint()
  const result = fn()
  return [result, ms(start)]
}

function hotPath(backend: HeapKeyedStateBackend, state: { value(): number | undefined; update(v: number): void }, ops: number, offset: number): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < ops; i++) {
    backend.setCurrentKey(keys[(offset + i * 7919) % KEYS])
    state.update((state.value() ?? 0) + 1)
  }
  return ops / ms(start) / 1e3
}

function fillValues(backend: HeapKeyedStateBackend, count: number) {
  const state = backend.getValueState(new ValueStateDescriptor<number>('count', Types.number))
  for (let i = 0; i < count; i++) {
    backend.setCurrentKey(keys[i])
    state.update(i)
  }
  return state
}

function fillMaps(backend: HeapKeyedStateBackend, count: number) {
  const state = backend.getMapState(new MapStateDescriptor<string, number>('map', Types.string, Types.number))
  for (let i = 0; i < count; i++) {
    backend.setCurrentKey(keys[i])
    for (let j = 0; j < MAP_ENTRIES; j++) state.put(userKeys[j], i + j)
  }
  return state
}

/** Runs the code paths on a small backend first, so the measured runs are compiled. */
async function warmUp(): Promise<void> {
  const backend = newBackend()
  fillValues(backend, 20_000)
  fillMaps(backend, 20_000)
  for (let i = 0; i < 3; i++) {
    await runSnapshot(backend)
    backend.snapshot()
    plainValueSnapshot(plainGroups((i) => i, 20_000))
    plainMapSnapshot(plainGroups((i) => new Map(userKeys.map((userKey, j) => [userKey, i + j])), 20_000))
  }
  backend.dispose()
}

async function valueBench(): Promise<void> {
  const backend = newBackend()
  const count = fillValues(backend, KEYS)
  const groups = plainGroups((i) => i)
  const [plain, baselineMs] = time(() => plainValueSnapshot(groups))
  const [, syncMs] = time(() => backend.snapshot())
  const run = await runSnapshot(backend)
  report(`ValueState<number>, ${KEYS.toLocaleString('en')} keys`, run, baselineMs)
  console.log(`  beginSnapshot() median of 21: ${medianPause(backend).toFixed(3)} ms`)
  console.log(`  snapshot() at once      ${syncMs.toFixed(1)} ms; same bytes as the plain loop: ${sameBytes(run.snapshot, plain) ? 'yes' : 'NO'}`)

  // 100 updates of random keys between steps, as records would arrive: copy-on-write at work.
  let offset = 0
  const busy = await runSnapshot(backend, () => {
    hotPath(backend, count, 100, offset)
    offset += 100
  })
  report(`ValueState<number>, 100 updates between steps`, busy, undefined)

  const ops = 2_000_000
  hotPath(backend, count, ops, 1)
  collect()
  const idle = hotPath(backend, count, ops, 2)
  const pending = backend.beginSnapshot()
  const during = hotPath(backend, count, ops, 3)
  while (!pending.step(Number.POSITIVE_INFINITY));
  collect()
  const after = hotPath(backend, count, ops, 4)
  console.log(`  hot path setCurrentKey + value() + update(): ${idle.toFixed(2)} M ops/s with no snapshot, ${during.toFixed(2)} during one, ${after.toFixed(2)} after it`)
  backend.dispose()
}

async function mapBench(): Promise<void> {
  const backend = newBackend()
  const map = fillMaps(backend, KEYS)
  const groups = plainGroups((i) => new Map(userKeys.map((userKey, j) => [userKey, i + j])))
  const [plain, baselineMs] = time(() => plainMapSnapshot(groups))
  const run = await runSnapshot(backend)
  report(`MapState<string, number>, ${KEYS.toLocaleString('en')} keys x ${MAP_ENTRIES} entries`, run, baselineMs)
  console.log(`  beginSnapshot() median of 21: ${medianPause(backend).toFixed(3)} ms`)
  console.log(`  same bytes as the plain loop: ${sameBytes(run.snapshot, plain) ? 'yes' : 'NO'}`)
  let offset = 0
  const busy = await runSnapshot(backend, () => {
    for (let i = 0; i < 100; i++) {
      backend.setCurrentKey(keys[(offset + i * 7919) % KEYS])
      map.put(userKeys[i % MAP_ENTRIES], i)
    }
    offset += 100
  })
  report(`MapState, 100 puts between steps`, busy, undefined)
  if ([...backend.getKeys('map', VOID_NAMESPACE)].length !== KEYS) throw new Error('keys lost')
  backend.dispose()
}

await warmUp()
await valueBench()
collect()
await mapBench()
