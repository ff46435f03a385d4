import { Packr } from 'msgpackr'
import type { SerializerCompatibility, SerializerSchema, SerializerSnapshot, TypeSerializer } from './type-serializer.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** 64-bit float, big-endian. */
const numberSerializer: TypeSerializer<number> = {
  id: 'number',
  version: 1,
  serialize(value) {
    const out = new Uint8Array(8)
    new DataView(out.buffer).setFloat64(0, value)
    return out
  },
  deserialize(bytes) {
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0)
  },
}

/** UTF-8. */
const stringSerializer: TypeSerializer<string> = {
  id: 'string',
  version: 1,
  serialize: (value) => encoder.encode(value),
  deserialize: (bytes) => decoder.decode(bytes),
}

/** One byte. */
const booleanSerializer: TypeSerializer<boolean> = {
  id: 'boolean',
  version: 1,
  serialize: (value) => Uint8Array.of(value ? 1 : 0),
  deserialize: (bytes) => bytes[0] === 1,
}

/** Decimal text, so any size fits. */
const bigintSerializer: TypeSerializer<bigint> = {
  id: 'bigint',
  version: 1,
  serialize: (value) => encoder.encode(value.toString()),
  deserialize: (bytes) => BigInt(decoder.decode(bytes)),
}

/** JSON text: readable, slower, no bigints or `undefined` fields. */
function json<T>(): TypeSerializer<T> {
  return {
    id: 'json',
    version: 1,
    serialize: (value) => encoder.encode(JSON.stringify(value)),
    deserialize: (bytes) => JSON.parse(decoder.decode(bytes)) as T,
  }
}

// One packer for the whole process; structured clone style (no shared record structures) so bytes
// are self-describing and readable by any process and any future version.
const packr = new Packr({ useRecords: false, moreTypes: true, structuredClone: true, mapsAsObjects: true, largeBigIntToFloat: false, int64AsType: 'bigint' })

/**
 * Compact binary (MessagePack via msgpackr): the default for structured values. Objects are stored
 * with their field names, so a class of values may gain or lose optional fields between versions of
 * a job and still read its old state. It also reads state written with `Types.json`.
 */
function msgpack<T>(): TypeSerializer<T> {
  return {
    id: 'msgpack',
    version: 1,
    serialize: (value) => packr.pack(value),
    deserialize: (bytes) => packr.unpack(bytes) as T,
    resolveCompatibility(old: SerializerSnapshot): SerializerCompatibility<T> {
      if (old.id === 'msgpack') return old.version === 1 ? 'compatible' : { incompatible: `it was written by msgpack version ${old.version}, newer than this code` }
      // JSON text holds the same values (minus what JSON cannot hold), so it can be converted.
      if (old.id === 'json' && old.version === 1) return { migrateFrom: (bytes) => JSON.parse(decoder.decode(bytes)) as T }
      return 'incompatible'
    },
  }
}

/** What `Types.versioned` builds a serializer from. */
export interface VersionedSerializerOptions<T> {
  /** Stored in snapshots; only bytes written under this id are read. */
  id: string
  /** The version `serialize` writes; a positive integer, bumped whenever the layout changes. */
  version: number
  serialize(value: T): Uint8Array
  /** Reads bytes written by this version. */
  deserialize(bytes: Uint8Array): T
  /**
   * Readers of older versions' bytes, by version: each returns the value as this version sees it.
   * A state written by a version listed here is migrated on restore; by any other older version,
   * the restore is refused.
   */
  readVersion?: Readonly<Record<number, (bytes: Uint8Array) => T>>
  /**
   * An optional description of the layout, stored in snapshots. A snapshot of the same version with
   * another schema is refused: the layout changed without a new version.
   */
  schema?: SerializerSchema
}

/**
 * A serializer whose layout evolves: it writes `version` and reads older versions' bytes with
 * `readVersion`, so a job can change the shape of its state and still restore old savepoints.
 *
 * ```ts
 * const events = Types.versioned<Event>({
 *   id: 'event', version: 2,
 *   serialize: (e) => encode([e.user, e.amount, e.currency]),
 *   deserialize: (b) => { const [user, amount, currency] = decode(b); return { user, amount, currency } },
 *   readVersion: { 1: (b) => { const [user, amount] = decode(b); return { user, amount, currency: 'EUR' } } },
 * })
 * ```
 */
function versioned<T>(options: VersionedSerializerOptions<T>): TypeSerializer<T> {
  const { id, version, readVersion = {}, schema } = options
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('Types.versioned: id must be a non-empty string')
  if (!Number.isInteger(version) || version < 1) throw new TypeError(`Types.versioned('${id}'): version must be a positive integer, got ${version}`)
  const readers = new Map<number, (bytes: Uint8Array) => T>()
  for (const [key, reader] of Object.entries(readVersion)) {
    const old = Number(key)
    if (!Number.isInteger(old) || old < 1 || old >= version) {
      throw new TypeError(`Types.versioned('${id}'): readVersion has a reader for version ${key}; only older versions (1 to ${version - 1}) can be read that way`)
    }
    if (typeof reader !== 'function') throw new TypeError(`Types.versioned('${id}'): readVersion[${key}] is not a function`)
    readers.set(old, reader)
  }
  const schemaText = schema === undefined ? undefined : canonicalJson(schema)
  const serializer: TypeSerializer<T> = {
    id,
    version,
    serialize: (value) => options.serialize(value),
    deserialize: (bytes) => options.deserialize(bytes),
    resolveCompatibility(old: SerializerSnapshot): SerializerCompatibility<T> {
      if (old.id !== id) return 'incompatible'
      if (old.version === version) {
        if (schemaText !== undefined && old.schema !== undefined && canonicalJson(old.schema) !== schemaText) {
          return { incompatible: `the snapshot's schema ${canonicalJson(old.schema)} differs from ${schemaText} under the same version ${version}; give the new layout a new version` }
        }
        return 'compatible'
      }
      if (old.version > version) return { incompatible: `it was written by version ${old.version}, newer than this code's version ${version}` }
      const reader = readers.get(old.version)
      if (reader === undefined) {
        const known = [...readers.keys()].sort((a, b) => a - b)
        return { incompatible: `there is no readVersion for version ${old.version} (readable older versions: ${known.length === 0 ? 'none' : known.join(', ')})` }
      }
      return { migrateFrom: reader }
    },
  }
  return schema === undefined ? serializer : { ...serializer, schema }
}

/** JSON with object fields sorted, so equal schemas compare equal whatever their field order. */
function canonicalJson(value: SerializerSchema): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const record = value as { readonly [field: string]: SerializerSchema }
    return `{${Object.keys(record)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(value)
}

const defaultSerializer = msgpack<unknown>()

/** The built-in serializers. Use them in state descriptors: `new ValueStateDescriptor('count', Types.number)`. */
export const Types = {
  number: numberSerializer,
  string: stringSerializer,
  boolean: booleanSerializer,
  bigint: bigintSerializer,
  json,
  msgpack,
  versioned,
  /** The serializer state descriptors use when none is given. */
  default<T>(): TypeSerializer<T> {
    return defaultSerializer as TypeSerializer<T>
  },
} as const

/** Shared packer for engine-internal encodings (snapshots, frames). */
export const internalPackr = packr
