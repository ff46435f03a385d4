/**
 * Turns values of one type into bytes and back. Serializers are named and versioned so a snapshot
 * records which serializer wrote its bytes, and a later job can tell whether it can still read them.
 */
export interface TypeSerializer<T> {
  /** A stable name, stored in snapshots (e.g. `number`, `string`, `msgpack`). */
  readonly id: string
  /** Bumped whenever the byte layout changes. */
  readonly version: number
  serialize(value: T): Uint8Array
  deserialize(bytes: Uint8Array): T
  /**
   * A description of the layout (field names, say), stored in snapshots next to id and version so
   * that `resolveCompatibility` of a later serializer can compare against it. Must survive JSON.
   */
  readonly schema?: SerializerSchema
  /**
   * Decides whether this serializer can read bytes written by the serializer `old` describes: as
   * they are, after migration (`migrateFrom` reads one old value, it is written back with this
   * serializer), or not at all. Without it, only the same id and version are compatible.
   */
  resolveCompatibility?(old: SerializerSnapshot): SerializerCompatibility<T>
}

/** A JSON value: what a serializer may record about its layout. */
export type SerializerSchema = null | boolean | number | string | readonly SerializerSchema[] | { readonly [field: string]: SerializerSchema }

/** What a snapshot stores about the serializer that wrote it. */
export interface SerializerSnapshot {
  id: string
  version: number
  /** The serializer's `schema`, when it has one. */
  schema?: SerializerSchema
}

/**
 * How a serializer relates to the one that wrote some bytes (Flink's
 * `TypeSerializerSchemaCompatibility`): `'compatible'` reads them as they are; `{ migrateFrom }`
 * reads one old value, which is then written with the new serializer; `'incompatible'` (or
 * `{ incompatible: reason }`) refuses the restore.
 */
export type SerializerCompatibility<T> = 'compatible' | 'incompatible' | { readonly migrateFrom: (bytes: Uint8Array) => T } | { readonly incompatible: string }

/** The snapshot of a serializer, for state metadata. */
export function snapshotOf(serializer: TypeSerializer<unknown>): SerializerSnapshot {
  return serializer.schema === undefined ? { id: serializer.id, version: serializer.version } : { id: serializer.id, version: serializer.version, schema: serializer.schema }
}
