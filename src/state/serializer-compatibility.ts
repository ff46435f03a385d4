import { snapshotOf, type SerializerSnapshot, type TypeSerializer } from '../api/serialization/type-serializer.ts'
import { StateError } from '../errors.ts'
import type { StateKind } from './descriptors.ts'
import type { KeyedStateMetaInfo } from './snapshot.ts'

/**
 * Schema evolution of state, shared by every state backend: a restore compares the serializer
 * snapshot stored with a state (id, version, schema) with the serializer the job uses now, and
 * reads the old bytes as they are, migrates them (read with the old layout, written with the new),
 * or refuses with an error naming the state and both serializers.
 */

/** The outcome of `resolveSerializerCompatibility`, normalized. */
export type CompatibilityResolution<T> =
  | { readonly kind: 'compatible' }
  | { readonly kind: 'migrate'; readonly migrateFrom: (bytes: Uint8Array) => T }
  | { readonly kind: 'incompatible'; readonly reason?: string }

const COMPATIBLE: CompatibilityResolution<never> = { kind: 'compatible' }

/**
 * How `serializer` can read bytes written by the serializer `old` describes. The serializer's own
 * `resolveCompatibility` decides when it has one; otherwise the same id and version are compatible
 * and anything else is not. A `resolveCompatibility` that throws or answers nonsense counts as
 * incompatible, with its error as the reason.
 */
export function resolveSerializerCompatibility<T>(old: SerializerSnapshot, serializer: TypeSerializer<T>): CompatibilityResolution<T> {
  if (serializer.resolveCompatibility === undefined) {
    return old.id === serializer.id && old.version === serializer.version ? COMPATIBLE : { kind: 'incompatible' }
  }
  let answer: unknown
  try {
    answer = serializer.resolveCompatibility(old)
  } catch (error) {
    return { kind: 'incompatible', reason: `its resolveCompatibility threw: ${error instanceof Error ? error.message : String(error)}` }
  }
  if (answer === 'compatible') return COMPATIBLE
  if (answer === 'incompatible') return { kind: 'incompatible' }
  if (typeof answer === 'object' && answer !== null) {
    const record = answer as { migrateFrom?: unknown; incompatible?: unknown }
    if (typeof record.migrateFrom === 'function') return { kind: 'migrate', migrateFrom: record.migrateFrom as (bytes: Uint8Array) => T }
    if (typeof record.incompatible === 'string') return { kind: 'incompatible', reason: record.incompatible }
  }
  return { kind: 'incompatible', reason: `its resolveCompatibility answered ${String(answer)}, not 'compatible', 'incompatible' or { migrateFrom }` }
}

/** Reads old bytes into a value and rewrites them in the new layout. */
export interface SerializerMigration<T> {
  /** The old bytes as a value (the serializer's `migrateFrom`). */
  read(bytes: Uint8Array): T
  /** The old bytes written again with the new serializer. */
  rewrite(bytes: Uint8Array): Uint8Array
}

/**
 * Checks one serializer of a state against the snapshot of the one that wrote its bytes: null when
 * the bytes can be read as they are, a migration when they must be converted. Throws `StateError`
 * naming the state (`state`, e.g. "State 'count'"), the role (value, map key, namespace...) and both
 * serializers when they cannot. A failing migration of one value throws `StateError` too.
 */
export function checkSerializerCompatibility<T>(state: string, role: string, old: SerializerSnapshot, serializer: TypeSerializer<T>): SerializerMigration<T> | null {
  const resolution = resolveSerializerCompatibility(old, serializer)
  switch (resolution.kind) {
    case 'compatible':
      return null
    case 'incompatible':
      throw new StateError(
        `${state}: the snapshot was written with ${role} serializer ${describeSerializer(old)}, but the state now uses ${describeSerializer(snapshotOf(serializer))}, which cannot read it${resolution.reason === undefined ? '' : `: ${resolution.reason}`}`,
      )
    case 'migrate': {
      const failed = (cause: unknown, step: string): StateError =>
        new StateError(
          `${state}: migrating a ${role} written with ${describeSerializer(old)} to ${describeSerializer(snapshotOf(serializer))} failed while ${step}: ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause },
        )
      const read = (bytes: Uint8Array): T => {
        try {
          return resolution.migrateFrom(bytes)
        } catch (cause) {
          throw failed(cause, 'reading the old bytes')
        }
      }
      return {
        read,
        rewrite(bytes) {
          const value = read(bytes)
          try {
            return serializer.serialize(value)
          } catch (cause) {
            throw failed(cause, 'writing the value with the new serializer')
          }
        },
      }
    }
  }
}

/** A serializer snapshot for messages: `'number' (version 1)`. */
export function describeSerializer(serializer: SerializerSnapshot | undefined): string {
  return serializer === undefined ? 'none' : `'${serializer.id}' (version ${serializer.version})`
}

/** The serializers a keyed state uses now. */
export interface KeyedStateSerializers {
  /** Value (or element, or accumulator) serializer; for map state the user-value serializer. */
  value: TypeSerializer<unknown>
  /** User-key serializer, for map state only. */
  mapKey?: TypeSerializer<unknown>
  namespace: TypeSerializer<unknown>
}

/** How the stored bytes of a keyed state are rewritten for its new serializers; absent roles stay as they are. */
export interface KeyedStateMigration {
  value?: (bytes: Uint8Array) => Uint8Array
  mapKey?: (bytes: Uint8Array) => Uint8Array
  namespace?: (bytes: Uint8Array) => Uint8Array
}

/**
 * Checks a keyed state's current serializers against the metadata a snapshot stored for it. Returns
 * null when every stored byte can be read as it is, otherwise the rewrites to apply to the stored
 * entries (`migrateKeyedStateEntries`, or `migrateKeyedStatePayload` per value). Throws `StateError`
 * when a serializer cannot read what the snapshot holds. Every backend restores through this.
 */
export function resolveKeyedStateCompatibility(restored: KeyedStateMetaInfo, current: KeyedStateSerializers): KeyedStateMigration | null {
  const state = `State '${restored.name}'`
  const migration: KeyedStateMigration = {}
  let migrates = false
  const roles: [keyof KeyedStateMigration, string, SerializerSnapshot | undefined, TypeSerializer<unknown> | undefined][] = [
    ['value', restored.kind === 'map' ? 'map value' : restored.kind === 'list' ? 'element' : restored.kind === 'aggregating' ? 'accumulator' : 'value', restored.valueSerializer, current.value],
    ['mapKey', 'map key', restored.mapKeySerializer, current.mapKey],
    ['namespace', 'namespace', restored.namespaceSerializer, current.namespace],
  ]
  for (const [field, role, old, serializer] of roles) {
    if (old === undefined && serializer === undefined) continue
    if (old === undefined || serializer === undefined) {
      throw new StateError(`${state}: the snapshot was written with ${role} serializer ${describeSerializer(old)}, but the state now uses ${describeSerializer(serializer && snapshotOf(serializer))}`)
    }
    const rewrite = checkSerializerCompatibility(state, role, old, serializer)
    if (rewrite !== null) {
      migration[field] = (bytes) => rewrite.rewrite(bytes)
      migrates = true
    }
  }
  return migrates ? migration : null
}

/** One stored entry of a keyed state: `[keyBytes, namespaceBytes, payload]` (see snapshot.ts). */
export type StoredKeyedEntry = readonly [keyBytes: Uint8Array, namespaceBytes: Uint8Array, payload: unknown]

/**
 * The payload of one (key, namespace) of a state with its bytes rewritten (layouts in snapshot.ts).
 * A payload that does not have its kind's shape is returned as it is, for the decoder to report.
 */
export function migrateKeyedStatePayload(kind: StateKind, payload: unknown, migration: KeyedStateMigration): unknown {
  const { value, mapKey } = migration
  if (!Array.isArray(payload)) return payload
  switch (kind) {
    case 'value':
    case 'reducing':
    case 'aggregating':
      return value !== undefined && payload[0] instanceof Uint8Array ? [value(payload[0]), ...payload.slice(1)] : payload
    case 'list':
      if (value === undefined) return payload
      return payload.map((element: unknown) => (Array.isArray(element) && element[0] instanceof Uint8Array ? [value(element[0]), ...element.slice(1)] : element))
    case 'map':
      if (value === undefined && mapKey === undefined) return payload
      return payload.map((entry: unknown) => {
        if (!Array.isArray(entry) || !(entry[0] instanceof Uint8Array) || !(entry[1] instanceof Uint8Array)) return entry
        return [mapKey === undefined ? entry[0] : mapKey(entry[0]), value === undefined ? entry[1] : value(entry[1]), ...entry.slice(2)]
      })
  }
}

/** Stored entries of one state with their bytes rewritten; the input is left unchanged. */
export function migrateKeyedStateEntries<E extends StoredKeyedEntry>(kind: StateKind, entries: readonly E[], migration: KeyedStateMigration): E[] {
  const { namespace } = migration
  return entries.map((entry) => {
    const [keyBytes, namespaceBytes, payload] = entry
    return [keyBytes, namespace === undefined ? namespaceBytes : namespace(namespaceBytes), migrateKeyedStatePayload(kind, payload, migration)] as unknown as E
  })
}
