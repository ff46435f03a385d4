import type { TypeSerializer } from '../api/serialization/type-serializer.ts'

/** A timer: fires for `key` in `namespace` when its clock reaches `timestamp`. */
export interface Timer<N> {
  readonly timestamp: number
  readonly key: unknown
  readonly namespace: N
}

/** What a timer service calls when timers fire; the timer's key is current during the call. */
export interface Triggerable<N> {
  onEventTime(timer: Timer<N>): void
  onProcessingTime(timer: Timer<N>): void
}

/**
 * Timers of one operator, per key and namespace, on both clocks. Registering the same timer twice
 * keeps one. Timers belong to keyed state: they are snapshotted per key group and move on rescale.
 */
export interface InternalTimerService<N> {
  currentProcessingTime(): number
  currentWatermark(): number
  /** For the current key. */
  registerEventTimeTimer(namespace: N, time: number): void
  deleteEventTimeTimer(namespace: N, time: number): void
  registerProcessingTimeTimer(namespace: N, time: number): void
  deleteProcessingTimeTimer(namespace: N, time: number): void
}

/** Per-key-group timer content, encoded like keyed state key groups (see `TimerSnapshot`). */
export interface TimersSnapshot {
  maxParallelism: number
  /** Timer service names with their namespace serializer ids. */
  services: { name: string; namespaceSerializer: string }[]
  /**
   * Encoded key groups: msgpack array of `[serviceIndex, domain (0 event, 1 processing), timestamp,
   * keyBytes, namespaceBytes]`.
   */
  keyGroups: Map<number, Uint8Array>
}

/** All timer services of one keyed operator subtask. */
export interface InternalTimeServiceManager {
  getTimerService<N>(name: string, namespaceSerializer: TypeSerializer<N>, triggerable: Triggerable<N>): InternalTimerService<N>
  /** Fires event-time timers up to `watermark`, in timestamp order. */
  advanceWatermark(watermark: number): void
  currentWatermark(): number
  numTimers(): number
  snapshot(): TimersSnapshot
  restore(snapshots: readonly TimersSnapshot[]): void
  dispose(): void
}
