import { Packr } from 'msgpackr'
import type { TypeSerializer } from './type-serializer.ts'

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

/** Compact binary (MessagePack via msgpackr): the default for structured values. */
function msgpack<T>(): TypeSerializer<T> {
  return {
    id: 'msgpack',
    version: 1,
    serialize: (value) => packr.pack(value),
    deserialize: (bytes) => packr.unpack(bytes) as T,
  }
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
  /** The serializer state descriptors use when none is given. */
  default<T>(): TypeSerializer<T> {
    return defaultSerializer as TypeSerializer<T>
  },
} as const

/** Shared packer for engine-internal encodings (snapshots, frames). */
export const internalPackr = packr
