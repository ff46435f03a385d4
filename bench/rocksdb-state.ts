/**
 * Per-record cost of keyed state access on the RocksDB backend against the heap backend and a
 * plain `Map` doing the same work: `setCurrentKey` + `ValueState.value()` + `update(value + 1)`.
 *
 * Phases, each over the same number of records:
 * - insert: every key once, in order (each read misses: the key is new);
 * - update: every key once more, in a shuffled order (RocksDB reads what it wrote, mostly from its
 *   memtables and files: the row cache holds a fraction of the keys);
 * - hot: records spread over the first `hotKeys` keys only (they fit in the row cache).
 * Then a full snapshot of each backend (duration and bytes).
 *
 * Figures are wall time and CPU time (all threads: RocksDB flushes and compactions count) per
 * record, with the ratios to the plain Map and of RocksDB to the heap.
 *
 * Run: node --import tsx bench/rocksdb-state.ts [keys=1000000] [hotKeys=10000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Types } from '../src/api/serialization/types.ts'
import { ValueStateDescriptor } from '../src/state/descriptors.ts'
import { HeapKeyedStateBackend } from '../src/state/heap/index.ts'
import { KeyGroupRange } from '../src/state/key-groups.ts'
import type { KeyedStateBackend } from '../src/state/keyed-state-backend.ts'
import { RocksDBKeyedStateBackend, resolveRocksDBOptions } from '../src/state/rocksdb/index.ts'
import type { KeyedStateSnapshot } from '../src/state/snapshot.ts'

const KEYS = Number(process.argv[2] ?? 1_000_000)
const HOT_KEYS = Math.min(KEYS, Number(process.argv[3] ?? 10_000))
const MAX_PARALLELISM = 128

setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void

const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`)
/** A fixed pseudo-random permutation (xorshift), the same for every contender. */
const shuffled = (() => {
  const order = Array.from({ length: KEYS }, (_, i) => i)
  let x = 0x2545f491
  for (let i = KEYS - 1; i > 0; i--) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    const j = (x >>> 0) % (i + 1)
    const t = order[i]
    order[i] = order[j]
    order[j] = t
  }
  return order
})()
const hot = Array.from({ length: KEYS }, (_, i) => shuffled[i] % HOT_KEYS)

type Phase = 'insert' | 'update' | 'hot'
const PHASES: [Phase, (i: number) => number][] = [
  ['insert', (i) => i],
  ['update', (i) => shuffled[i]],
  ['hot', (i) => hot[i]],
]

interface Figures {
  wallNs: number
  cpuNs: number
}

function measure(body: () => void): Figures {
  collect()
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  body()
  const wall = Number(process.hrtime.bigint() - start)
  const used = process.cpuUsage(cpu)
  return { wallNs: wall / KEYS, cpuNs: ((used.user + used.system) * 1000) / KEYS }
}

/** The same work on a plain Map: the floor any backend is compared with. */
function runMap(): Map<Phase, Figures> {
  const map = new Map<string, number>()
  const out = new Map<Phase, Figures>()
  for (const [phase, index] of PHASES) {
    out.set(
      phase,
      measure(() => {
        for (let i = 0; i < KEYS; i++) {
          const key = keys[index(i)]
          map.set(key, (map.get(key) ?? 0) + 1)
        }
      }),
    )
  }
  return out
}

function runBackend(backend: KeyedStateBackend): Map<Phase, Figures> {
  const count = backend.getValueState(new ValueStateDescriptor<number>('count', Types.number))
  const out = new Map<Phase, Figures>()
  for (const [phase, index] of PHASES) {
    out.set(
      phase,
      measure(() => {
        for (let i = 0; i < KEYS; i++) {
          backend.setCurrentKey(keys[index(i)])
          count.update((count.value() ?? 0) + 1)
        }
      }),
    )
  }
  return out
}

function snapshotFigures(backend: KeyedStateBackend): { ms: number; bytes: number; snapshot: KeyedStateSnapshot } {
  collect()
  const start = process.hrtime.bigint()
  const snapshot = backend.snapshot()
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  let bytes = 0
  for (const group of snapshot.keyGroups.values()) bytes += group.length
  return { ms, bytes, snapshot }
}

function fmt(ns: number): string {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`
}

const range = new KeyGroupRange(0, MAX_PARALLELISM - 1)
console.log(`keyed ValueState<number>: setCurrentKey + value() + update(), ${KEYS.toLocaleString('en')} keys, ${HOT_KEYS.toLocaleString('en')} hot keys`)

const map = runMap()

const heap = new HeapKeyedStateBackend({ maxParallelism: MAX_PARALLELISM, keyGroupRange: range })
const heapFigures = runBackend(heap)
const heapSnapshot = snapshotFigures(heap)
heap.dispose()

const root = mkdtempSync(join(tmpdir(), 'weir-rocksdb-bench-'))
const options = resolveRocksDBOptions({ directory: root })
const rocks = new RocksDBKeyedStateBackend({ maxParallelism: MAX_PARALLELISM, keyGroupRange: range, operatorName: 'bench', root, rocksdb: options.rocksdb, cache: options.cache })
const rocksFigures = runBackend(rocks)
const rocksSnapshot = snapshotFigures(rocks)
rocks.flush()
const sstBytes = Number(rocks.property('rocksdb.total-sst-files-size'))
const memtableBytes = Number(rocks.property('rocksdb.cur-size-all-mem-tables'))
rocks.dispose()

const restored = new RocksDBKeyedStateBackend({ maxParallelism: MAX_PARALLELISM, keyGroupRange: range, operatorName: 'bench-restore', root, rocksdb: options.rocksdb, cache: options.cache })
collect()
const restoreStart = process.hrtime.bigint()
restored.restore([rocksSnapshot.snapshot])
restored.flush()
const restoreMs = Number(process.hrtime.bigint() - restoreStart) / 1e6
restored.dispose()
rmSync(root, { recursive: true, force: true })

console.log('')
console.log('phase    | Map wall/cpu      | heap wall/cpu     | RocksDB wall/cpu  | heap/Map | RocksDB/Map | RocksDB/heap (cpu)')
for (const [phase] of PHASES) {
  const m = map.get(phase) as Figures
  const h = heapFigures.get(phase) as Figures
  const r = rocksFigures.get(phase) as Figures
  console.log(
    [
      phase.padEnd(8),
      `${fmt(m.wallNs)} / ${fmt(m.cpuNs)}`.padEnd(17),
      `${fmt(h.wallNs)} / ${fmt(h.cpuNs)}`.padEnd(17),
      `${fmt(r.wallNs)} / ${fmt(r.cpuNs)}`.padEnd(17),
      `${(h.cpuNs / m.cpuNs).toFixed(1)}x`.padEnd(8),
      `${(r.cpuNs / m.cpuNs).toFixed(1)}x`.padEnd(11),
      `${(r.cpuNs / h.cpuNs).toFixed(1)}x`,
    ].join(' | '),
  )
}
console.log('')
console.log(`full snapshot: heap ${heapSnapshot.ms.toFixed(0)} ms, ${(heapSnapshot.bytes / 1e6).toFixed(1)} MB; RocksDB ${rocksSnapshot.ms.toFixed(0)} ms, ${(rocksSnapshot.bytes / 1e6).toFixed(1)} MB`)
console.log(`RocksDB on disk: ${(sstBytes / 1e6).toFixed(1)} MB in SST files, ${(memtableBytes / 1e6).toFixed(1)} MB in memtables; restore of the snapshot into a new instance: ${restoreMs.toFixed(0)} ms`)
