/**
 * Real operator subtask states for checkpoint tests: taken from the heap keyed backend, the heap
 * timer service and the operator state backend, and read back through the same backends.
 */
import { Types } from '../../../src/api/serialization/types.ts'
import type { SnapshotMetadata } from '../../../src/checkpoint/checkpoint-storage.ts'
import { SNAPSHOT_FORMAT_VERSION } from '../../../src/checkpoint/metadata-codec.ts'
import type { OperatorSubtaskState } from '../../../src/checkpoint/operator-subtask-state.ts'
import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from '../../../src/state/descriptors.ts'
import { heapStateBackend } from '../../../src/state/heap-state-backend.ts'
import { KeyGroupRange, keyGroupRangeForSubtask } from '../../../src/state/key-groups.ts'
import { VOID_NAMESPACE } from '../../../src/state/keyed-state-backend.ts'
import { voidNamespaceSerializer } from '../../../src/state/void-namespace-serializer.ts'
import { HeapTimeServiceManager } from '../../../src/time/heap-timer-service.ts'
import { ManualProcessingTimeService } from '../../../src/time/manual-processing-time-service.ts'
import type { Triggerable } from '../../../src/time/timer-service.ts'

/** Max parallelism of every fixture. */
export const MAX_PARALLELISM = 128

const count = new ValueStateDescriptor<number>('count', Types.number)
const seen = new ListStateDescriptor<string>('seen', Types.string)
const attrs = new MapStateDescriptor<string, { n: number }>('attrs')
const offsets = new ListStateDescriptor<number>('offsets', Types.number)
const rules = new MapStateDescriptor<string, string>('rules', Types.string, Types.string)

/** The keys the fixtures fill. */
export const KEYS = Array.from({ length: 60 }, (_, i) => `key-${i}`)

/** What a restored subtask holds, in a comparable form. */
export interface StateContent {
  counts: Record<string, number>
  seen: Record<string, string[]>
  attrs: Record<string, Record<string, { n: number }>>
  timers: string[]
  offsets: number[]
  rules: Record<string, string>
}

const noop: Triggerable<typeof VOID_NAMESPACE> = { onEventTime: () => {}, onProcessingTime: () => {} }

/** The state of subtask `index` of `parallelism` after it processed the keys of its range. */
export function makeSubtaskState(index = 0, parallelism = 1): OperatorSubtaskState {
  const range = keyGroupRangeForSubtask(MAX_PARALLELISM, parallelism, index)
  const backends = heapStateBackend()
  const keyed = backends.createKeyedBackend({ maxParallelism: MAX_PARALLELISM, keyGroupRange: range, operatorName: 'fixture' })
  const operator = backends.createOperatorBackend(index)
  const timers = new HeapTimeServiceManager(keyed, new ManualProcessingTimeService(), range, MAX_PARALLELISM)
  const service = timers.getTimerService('user-timers', voidNamespaceSerializer, noop)
  KEYS.forEach((key, i) => {
    try {
      keyed.setCurrentKey(key)
    } catch {
      return // another subtask's key
    }
    keyed.getValueState(count).update(i)
    const list = keyed.getListState(seen)
    list.add(`a${i}`)
    list.add(`b${i}`)
    if (i % 3 === 0) keyed.getMapState(attrs).put(`attr-${i}`, { n: i })
    service.registerEventTimeTimer(VOID_NAMESPACE, 1000 + i)
    if (i % 2 === 0) service.registerProcessingTimeTimer(VOID_NAMESPACE, 5000 + i)
  })
  operator.getListState(offsets).addAll([index * 100, index * 100 + 1])
  operator.getBroadcastState(rules).put('r1', 'deny')
  const state = { keyed: keyed.snapshot(), operator: operator.snapshot(), timers: timers.snapshot() }
  keyed.dispose()
  timers.dispose()
  return state
}

/** Restores snapshots into fresh backends of one subtask and reads everything back. */
export function readBack(states: readonly OperatorSubtaskState[], index = 0, parallelism = 1): StateContent {
  const range: KeyGroupRange = keyGroupRangeForSubtask(MAX_PARALLELISM, parallelism, index)
  const backends = heapStateBackend()
  const keyed = backends.createKeyedBackend({ maxParallelism: MAX_PARALLELISM, keyGroupRange: range, operatorName: 'fixture' })
  const operator = backends.createOperatorBackend(index)
  const timers = new HeapTimeServiceManager(keyed, new ManualProcessingTimeService(), range, MAX_PARALLELISM)
  keyed.restore(states.flatMap((s) => (s.keyed ? [s.keyed] : [])))
  timers.restore(states.flatMap((s) => (s.timers ? [s.timers] : [])))
  operator.restore(
    states.map((s) => s.operator),
    index,
    parallelism,
  )
  const content: StateContent = { counts: {}, seen: {}, attrs: {}, timers: [], offsets: [], rules: {} }
  const fired: string[] = []
  timers.getTimerService('user-timers', voidNamespaceSerializer, {
    onEventTime: (t) => fired.push(`event ${String(t.key)} @${t.timestamp}`),
    onProcessingTime: (t) => fired.push(`processing ${String(t.key)} @${t.timestamp}`),
  })
  for (const key of keyed.getKeys('count', VOID_NAMESPACE)) {
    keyed.setCurrentKey(key)
    const k = String(key)
    content.counts[k] = keyed.getValueState(count).value()!
    content.seen[k] = keyed.getListState(seen).get()
    const map = keyed.getMapState(attrs)
    if (!map.isEmpty()) content.attrs[k] = Object.fromEntries(map.entries())
  }
  timers.advanceWatermark(Number.MAX_SAFE_INTEGER)
  content.timers = [...fired, `${timers.numTimers()} processing-time timers left`].sort()
  content.offsets = operator.getListState(offsets).get()
  content.rules = Object.fromEntries(operator.getBroadcastState(rules).entries())
  keyed.dispose()
  timers.dispose()
  return content
}

/** Replaces byte arrays by hex so snapshots compare by content, whatever array class a decoder returns. */
export function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return `0x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`
  if (value instanceof Map) return [...value.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, comparable(v)])
  if (Array.isArray(value)) return value.map(comparable)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]))
  return value
}

/** Metadata of a two-operator checkpoint; subtask 1 of the sink had no state. */
export function sampleMetadata(checkpointId = 7): SnapshotMetadata {
  return {
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    kind: 'checkpoint',
    jobId: 'job-1',
    jobName: 'word count',
    checkpointId,
    timestamp: 1_700_000_000_000,
    operators: [
      {
        uid: 'count',
        name: 'Count words',
        parallelism: 2,
        maxParallelism: 128,
        subtasks: [
          { path: 'count-0.state', size: 120, sha256: 'a'.repeat(64) },
          { path: 'count-1.state', size: 99, sha256: 'b'.repeat(64) },
        ],
      },
      { uid: 'sink', name: 'Sink: files', parallelism: 2, maxParallelism: 128, subtasks: [{ path: 'sink-0.state', size: 10, sha256: 'c'.repeat(64) }, undefined] },
    ],
    sourceEnumerators: [{ uid: 'lines', state: 'kqFh' }],
  }
}
