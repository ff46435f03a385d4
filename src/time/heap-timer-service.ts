import type { TypeSerializer } from '../api/serialization/type-serializer.ts'
import { internalPackr } from '../api/serialization/types.ts'
import { WeirError } from '../errors.ts'
import { keyGroupForKey, type KeyGroupRange } from '../state/key-groups.ts'
import { deserializeKey, keyIdentity, serializeKey } from '../state/key-serialization.ts'
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts'
import type { ProcessingTimeService, Cancellable } from './processing-time-service.ts'
import { MIN_WATERMARK } from './time.ts'
import { TimerHeap } from './timer-heap.ts'
import type { InternalTimeServiceManager, InternalTimerService, Timer, TimersSnapshot, Triggerable } from './timer-service.ts'

interface StoredTimer<N> extends Timer<N> {
  readonly id: string
}

const EVENT = 0
const PROCESSING = 1

/** Timers of one service, kept in two heaps with a map for deduplication and deletion. */
class HeapTimerService<N> implements InternalTimerService<N> {
  readonly timers: [Map<string, StoredTimer<N>>, Map<string, StoredTimer<N>>] = [new Map(), new Map()]
  private readonly heaps: [TimerHeap<StoredTimer<N>>, TimerHeap<StoredTimer<N>>] = [new TimerHeap(), new TimerHeap()]
  private scheduled: { time: number; handle: Cancellable } | undefined

  constructor(
    readonly name: string,
    readonly namespaceSerializer: TypeSerializer<N>,
    private readonly triggerable: Triggerable<N>,
    private readonly manager: HeapTimeServiceManager,
  ) {}

  currentProcessingTime(): number {
    return this.manager.processingTime.now()
  }
  currentWatermark(): number {
    return this.manager.currentWatermark()
  }

  registerEventTimeTimer(namespace: N, time: number): void {
    this.add(EVENT, this.manager.backend.getCurrentKey(), namespace, time)
  }
  deleteEventTimeTimer(namespace: N, time: number): void {
    this.timers[EVENT].delete(this.timerId(this.manager.backend.getCurrentKey(), namespace, time))
  }
  registerProcessingTimeTimer(namespace: N, time: number): void {
    this.add(PROCESSING, this.manager.backend.getCurrentKey(), namespace, time)
  }
  deleteProcessingTimeTimer(namespace: N, time: number): void {
    this.timers[PROCESSING].delete(this.timerId(this.manager.backend.getCurrentKey(), namespace, time))
  }

  /**
   * Namespaces go by their serialized bytes: windows are class instances, which keyIdentity
   * refuses, and equal windows must give the same timer. The key's length prefix keeps the id
   * unambiguous whatever characters the key and namespace hold.
   */
  private timerId(key: unknown, namespace: N, time: number): string {
    const id = keyIdentity(key)
    const k = String(id)
    const ns = this.namespaceSerializer.serialize(namespace)
    // The type letter keeps the number 5 and the string '5' apart.
    return `${(typeof id)[0]}${k.length}:${k}${Buffer.from(ns.buffer, ns.byteOffset, ns.byteLength).toString('latin1')}\u0001${time}`
  }

  add(domain: 0 | 1, key: unknown, namespace: N, timestamp: number): void {
    const id = this.timerId(key, namespace, timestamp)
    const map = this.timers[domain]
    if (map.has(id)) return
    const timer: StoredTimer<N> = { id, key, namespace, timestamp }
    map.set(id, timer)
    this.heaps[domain].push(timer)
    if (domain === PROCESSING) this.scheduleProcessingTime()
  }

  /** Pops the earliest live timer of a domain if it is due. Deleted timers are skipped lazily. */
  private nextDue(domain: 0 | 1, time: number): StoredTimer<N> | undefined {
    const heap = this.heaps[domain]
    const map = this.timers[domain]
    for (;;) {
      const top = heap.peek()
      if (!top || top.timestamp > time) return undefined
      heap.pop()
      if (map.get(top.id) === top) {
        map.delete(top.id)
        return top
      }
    }
  }

  advanceWatermark(watermark: number): void {
    for (let t = this.nextDue(EVENT, watermark); t; t = this.nextDue(EVENT, watermark)) {
      this.manager.backend.setCurrentKey(t.key)
      this.triggerable.onEventTime(t)
    }
  }

  private scheduleProcessingTime(): void {
    let top = this.heaps[PROCESSING].peek()
    while (top && this.timers[PROCESSING].get(top.id) !== top) {
      this.heaps[PROCESSING].pop()
      top = this.heaps[PROCESSING].peek()
    }
    if (!top) return
    if (this.scheduled && this.scheduled.time <= top.timestamp) return
    this.scheduled?.handle.cancel()
    const time = top.timestamp
    this.scheduled = { time, handle: this.manager.processingTime.schedule(time, () => this.onProcessingTime()) }
  }

  private onProcessingTime(): void {
    this.scheduled = undefined
    const now = this.manager.processingTime.now()
    for (let t = this.nextDue(PROCESSING, now); t; t = this.nextDue(PROCESSING, now)) {
      this.manager.backend.setCurrentKey(t.key)
      this.triggerable.onProcessingTime(t)
    }
    this.scheduleProcessingTime()
  }

  numTimers(): number {
    return this.timers[EVENT].size + this.timers[PROCESSING].size
  }

  dispose(): void {
    this.scheduled?.handle.cancel()
    this.scheduled = undefined
  }
}

/** The timer services of one keyed operator subtask, on the heap. */
export class HeapTimeServiceManager implements InternalTimeServiceManager {
  private readonly services = new Map<string, HeapTimerService<unknown>>()
  private watermark = MIN_WATERMARK
  /** Restored timers whose service was not registered yet: name -> [domain, ts, keyBytes, nsBytes][]. */
  private readonly pending = new Map<string, [number, number, Uint8Array, Uint8Array][]>()

  constructor(
    readonly backend: KeyedStateBackend,
    readonly processingTime: ProcessingTimeService,
    private readonly keyGroupRange: KeyGroupRange,
    private readonly maxParallelism: number,
  ) {}

  getTimerService<N>(name: string, namespaceSerializer: TypeSerializer<N>, triggerable: Triggerable<N>): InternalTimerService<N> {
    const existing = this.services.get(name)
    if (existing) return existing as unknown as InternalTimerService<N>
    const service = new HeapTimerService<N>(name, namespaceSerializer, triggerable, this)
    this.services.set(name, service as unknown as HeapTimerService<unknown>)
    const restored = this.pending.get(name)
    if (restored) {
      this.pending.delete(name)
      const previousKey = this.safeCurrentKey()
      for (const [domain, ts, keyBytes, nsBytes] of restored) {
        service.add(domain as 0 | 1, deserializeKey(keyBytes), namespaceSerializer.deserialize(nsBytes), ts)
      }
      if (previousKey !== undefined) this.backend.setCurrentKey(previousKey)
    }
    return service
  }

  private safeCurrentKey(): unknown {
    try {
      return this.backend.getCurrentKey()
    } catch {
      return undefined
    }
  }

  advanceWatermark(watermark: number): void {
    this.watermark = watermark
    for (const service of this.services.values()) service.advanceWatermark(watermark)
  }

  currentWatermark(): number {
    return this.watermark
  }

  numTimers(): number {
    let n = 0
    for (const s of this.services.values()) n += s.numTimers()
    for (const p of this.pending.values()) n += p.length
    return n
  }

  snapshot(): TimersSnapshot {
    const services = [...this.services.values()]
    const groups = new Map<number, unknown[]>()
    const add = (group: number, row: unknown[]): void => {
      let rows = groups.get(group)
      if (!rows) groups.set(group, (rows = []))
      rows.push(row)
    }
    services.forEach((service, index) => {
      for (const domain of [EVENT, PROCESSING] as const) {
        for (const t of service.timers[domain].values()) {
          const keyBytes = serializeKey(t.key)
          add(keyGroupForKey(t.key, this.maxParallelism), [index, domain, t.timestamp, keyBytes, service.namespaceSerializer.serialize(t.namespace)])
        }
      }
    })
    // Timers restored but not yet claimed by a service are carried over unchanged.
    const names = services.map((s) => ({ name: s.name, namespaceSerializer: s.namespaceSerializer.id }))
    for (const [name, rows] of this.pending) {
      const index = names.length
      names.push({ name, namespaceSerializer: '?' })
      for (const [domain, ts, keyBytes, nsBytes] of rows) add(keyGroupForKey(deserializeKey(keyBytes), this.maxParallelism), [index, domain, ts, keyBytes, nsBytes])
    }
    const keyGroups = new Map<number, Uint8Array>()
    for (const [group, rows] of groups) keyGroups.set(group, internalPackr.pack(rows))
    return { maxParallelism: this.maxParallelism, services: names, keyGroups }
  }

  restore(snapshots: readonly TimersSnapshot[]): void {
    for (const snapshot of snapshots) {
      if (snapshot.maxParallelism !== this.maxParallelism) {
        throw new WeirError('MAX_PARALLELISM_MISMATCH', `Timers were written with max parallelism ${snapshot.maxParallelism}, the job has ${this.maxParallelism}`)
      }
      for (const [group, bytes] of snapshot.keyGroups) {
        if (!this.keyGroupRange.contains(group)) continue
        const rows = internalPackr.unpack(bytes) as [number, number, number, Uint8Array, Uint8Array][]
        for (const [index, domain, ts, keyBytes, nsBytes] of rows) {
          const name = snapshot.services[index].name
          let list = this.pending.get(name)
          if (!list) this.pending.set(name, (list = []))
          list.push([domain, ts, keyBytes, nsBytes])
        }
      }
    }
  }

  dispose(): void {
    for (const s of this.services.values()) s.dispose()
    this.services.clear()
    this.pending.clear()
  }
}
