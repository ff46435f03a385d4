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
}

/** What a snapshot stores about the serializer that wrote it. */
export interface SerializerSnapshot {
  id: string
  version: number
}

/** The snapshot of a serializer, for state metadata. */
export function snapshotOf(serializer: TypeSerializer<unknown>): SerializerSnapshot {
  return { id: serializer.id, version: serializer.version }
}
