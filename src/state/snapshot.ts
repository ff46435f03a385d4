import type { SerializerSnapshot } from '../api/serialization/type-serializer.ts'
import type { StateKind } from './descriptors.ts'
import type { StateTtlConfig } from './ttl.ts'

/** What a keyed-state snapshot records about one state, so a restore can check it is compatible. */
export interface KeyedStateMetaInfo {
  name: string
  kind: StateKind
  /** Value (or element, or accumulator) serializer; for map state the user-value serializer. */
  valueSerializer: SerializerSnapshot
  /** User-key serializer, for map state only. */
  mapKeySerializer?: SerializerSnapshot
  namespaceSerializer: SerializerSnapshot
  ttl?: StateTtlConfig
}

/**
 * A keyed-state backend's content, split by key group. Each key group is encoded on its own so a
 * restore at another parallelism takes exactly the groups of its new range.
 *
 * A key group's bytes are a msgpack array with one item per non-empty state:
 * `[stateIndex, entries]`, where every entry is `[keyBytes, namespaceBytes, payload]`:
 * - value, reducing, aggregating: payload `[valueBytes, expiresAt]`
 * - list: payload `[[elementBytes, expiresAt], ...]`
 * - map: payload `[[userKeyBytes, userValueBytes, expiresAt], ...]`
 * `keyBytes` are the canonical key bytes (`serializeKey`), `expiresAt` is 0 without TTL.
 */
export interface KeyedStateSnapshot {
  maxParallelism: number
  keyGroupRange: { start: number; end: number }
  states: KeyedStateMetaInfo[]
  /** Encoded key groups; groups without any entry are absent. */
  keyGroups: Map<number, Uint8Array>
}

/** How operator list state is given out on restore. */
export type OperatorListMode = 'split' | 'union'

/** One operator state in a snapshot. */
export type OperatorStateEntry =
  | { name: string; kind: 'list'; mode: OperatorListMode; serializer: SerializerSnapshot; elements: Uint8Array[] }
  | { name: string; kind: 'broadcast'; keySerializer: SerializerSnapshot; valueSerializer: SerializerSnapshot; entries: [Uint8Array, Uint8Array][] }

/** An operator-state backend's content (one subtask). */
export interface OperatorStateSnapshot {
  states: OperatorStateEntry[]
}
