/**
 * Asynchronous snapshots of the heap keyed backend: the synchronous pause of `beginSnapshot()`
 * against the total time of the steps that serialize, for 1,000,000 keys of ValueState<number> and
 * of MapState; the same serialization done by a plain loop over plain Maps as the baseline; and the
 * state access hot path with no snapshot, during one and after one.
 *
 * Run: node --import tsx bench/heap-snapshot.ts [keys] [stepSize]
 */
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
  stepsMs: number
  maxStepMs: number
  steps: number
  snapshot: KeyedStateSnapshot
}

/** Begins a snapshot and steps it to the end, calling `between` after each step as a task would process records. */
function runSnapshot(backend: KeyedStateBackend, between?: () => void): Run {
  const begin = process.hrtime.bigint()
  const pending: PendingKeyedSnapshot = backend.beginSnapshot()
  const pauseMs = ms(begin)
  let stepsMs = 0
  let maxStepMs = 0
  let steps = 0
  for (;;) {
    const start = process.hrtime.bigint()
    const done = pending.step(STEP)
    const took = ms(start)
    stepsMs += took
    if (took > maxStepMs) maxStepMs = took
    steps++
    if (done) break
    between?.()
  }
  return { pauseMs, stepsMs, maxStepMs, steps, snapshot: pending.result() }
}

function report(label: string, run: Run, baselineMs: number | undefined): void {
  const total = run.pauseMs + run.stepsMs
  console.log(`${label}`)
  console.log(`  beginSnapshot() pause   ${run.pauseMs.toFixed(3)} ms`)
  console.log(`  steps of ${STEP}          ${run.stepsMs.toFixed(1)} ms total in ${run.steps} steps, longest ${run.maxStepMs.toFixed(2)} ms`)
  console.log(`  pause / total           ${((run.pauseMs / total) * 100).toFixed(4)} %`)
  console.log(`  snapshot size           ${(bytesOf(run.snapshot) / 1e6).toFixed(1)} MB`)
  if (baselineMs !== undefined) {
    console.log(`  plain loop (baseline)   ${baselineMs.toFixed(1)} ms; engine / baseline ${(total / baselineMs).toFixed(2)}`)
  }
}

/** Plain Maps per key group, filled with the same keys: what a hand-written program would hold. */
function plainGroups<V>(value: (i: number) => V): Map<string, V>[] {
  const groups = Array.from({ length: MAX_PARALLELISM }, () => new Map<string, V>())
  for (let i = 0; i < KEYS; i++) groups[keyGroupForKey(keys[i], MAX_PARALLELISM)].set(keys[i], value(i))
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

function valueBench(): void {
  const backend = newBackend()
  const count = backend.getValueState(new ValueStateDescriptor<number>('count', Types.number))
  for (let i = 0; i < KEYS; i++) {
    backend.setCurrentKey(keys[i])
    count.update(i)
  }
  const groups = plainGroups((i) => i)
  // Warm both paths once, then measure.
  runSnapshot(backend)
  plainValueSnapshot(groups)
  const [, syncMs] = time(() => backend.snapshot())
  const [plain, baselineMs] = time(() => plainValueSnapshot(groups))
  const run = runSnapshot(backend)
  report(`ValueState<number>, ${KEYS.toLocaleString('en')} keys`, run, baselineMs)
  console.log(`  snapshot() at once      ${syncMs.toFixed(1)} ms; same bytes as the plain loop: ${sameBytes(run.snapshot, plain) ? 'yes' : 'NO'}`)

  // 100 updates of random keys between steps, as records would arrive: copy-on-write at work.
  let offset = 0
  const busy = runSnapshot(backend, () => {
    hotPath(backend, count, 100, offset)
    offset += 100
  })
  report(`ValueState<number>, 100 updates between steps`, busy, undefined)

  const ops = 2_000_000
  hotPath(backend, count, ops, 1)
  const idle = hotPath(backend, count, ops, 2)
  const pending = backend.beginSnapshot()
  const during = hotPath(backend, count, ops, 3)
  while (!pending.step(Number.POSITIVE_INFINITY));
  const after = hotPath(backend, count, ops, 4)
  console.log(`  hot path setCurrentKey + value() + update(): ${idle.toFixed(2)} M ops/s no snapshot, ${during.toFixed(2)} during one (first touch of an entry encodes it), ${after.toFixed(2)} after it`)
  backend.dispose()
}

function mapBench(): void {
  const backend = newBackend()
  const map = backend.getMapState(new MapStateDescriptor<string, number>('map', Types.string, Types.number))
  for (let i = 0; i < KEYS; i++) {
    backend.setCurrentKey(keys[i])
    for (let j = 0; j < MAP_ENTRIES; j++) map.put(userKeys[j], i + j)
  }
  const groups = plainGroups((i) => new Map(userKeys.map((userKey, j) => [userKey, i + j])))
  runSnapshot(backend)
  plainMapSnapshot(groups)
  const [plain, baselineMs] = time(() => plainMapSnapshot(groups))
  const run = runSnapshot(backend)
  report(`MapState<string, number>, ${KEYS.toLocaleString('en')} keys x ${MAP_ENTRIES} entries`, run, baselineMs)
  console.log(`  same bytes as the plain loop: ${sameBytes(run.snapshot, plain) ? 'yes' : 'NO'}`)
  let offset = 0
  const busy = runSnapshot(backend, () => {
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

valueBench()
mapBench()
