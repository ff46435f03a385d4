import { StateError } from '../../errors.ts'
import { varintSize, writeVarint } from './row-key.ts'

/**
 * Layout of RocksDB values. Each value (or list element) starts with a flag byte saying whether an
 * expiry time follows, so rows written with and without TTL can be told apart whatever the
 * descriptor says when they are read (TTL may be switched on between a snapshot and a restore):
 *
 * - value, reducing, aggregating: `flags | [expiresAt f64] | valueBytes`
 * - list: elements concatenated, each `flags | [expiresAt f64] | length u32 | elementBytes`, so
 *   that RocksDB's append merge operator adds elements without reading the list
 * - map (one row per user key): `flags | [expiresAt f64] | varint length | userKeyBytes | valueBytes`;
 *   the user key's serializer bytes are kept because the row key holds its canonical bytes, which
 *   a snapshot must not contain
 *
 * `expiresAt` 0 means no expiry.
 */

const HAS_EXPIRY = 1

function headerSize(expiresAt: number): number {
  return expiresAt === 0 ? 1 : 9
}

function writeHeader(out: Buffer, expiresAt: number): number {
  if (expiresAt === 0) {
    out[0] = 0
    return 1
  }
  out[0] = HAS_EXPIRY
  out.writeDoubleBE(expiresAt, 1)
  return 9
}

function corrupt(what: string): StateError {
  return new StateError(`Corrupt RocksDB state value: ${what}`)
}

/** Expiry time of a value or of a map row (0 for none). */
export function expiryOf(stored: Buffer, at = 0): number {
  return (stored[at] & HAS_EXPIRY) === 0 ? 0 : stored.readDoubleBE(at + 1)
}

function payloadStart(stored: Buffer, at = 0): number {
  const flags = stored[at]
  if (flags === undefined) throw corrupt('empty value')
  return at + ((flags & HAS_EXPIRY) === 0 ? 1 : 9)
}

// ---- single values ----

/** Stores a value's serialized bytes with its expiry. */
export function encodeValue(bytes: Uint8Array, expiresAt: number): Buffer {
  const out = Buffer.allocUnsafe(headerSize(expiresAt) + bytes.length)
  out.set(bytes, writeHeader(out, expiresAt))
  return out
}

/** The serialized bytes of a stored value (a view). */
export function valueBytes(stored: Buffer): Buffer {
  return stored.subarray(payloadStart(stored))
}

/** The same value with another expiry (refresh on read, or an expiry given at restore). */
export function withExpiry(stored: Buffer, expiresAt: number): Buffer {
  return encodeValue(valueBytes(stored), expiresAt)
}

// ---- list elements ----

/** One list element as stored; a list value is these concatenated. */
export function encodeElement(bytes: Uint8Array, expiresAt: number): Buffer {
  const out = Buffer.allocUnsafe(headerSize(expiresAt) + 4 + bytes.length)
  const at = writeHeader(out, expiresAt)
  out.writeUInt32BE(bytes.length, at)
  out.set(bytes, at + 4)
  return out
}

/** A list element read from a stored list: views into the list value. */
export interface StoredElement {
  bytes: Buffer
  expiresAt: number
  /** The element as stored (header included), to copy it unchanged. */
  raw: Buffer
}

/** The elements of a stored list, in order. */
export function decodeElements(stored: Buffer): StoredElement[] {
  const out: StoredElement[] = []
  let at = 0
  while (at < stored.length) {
    const expiresAt = expiryOf(stored, at)
    const lengthAt = payloadStart(stored, at)
    if (lengthAt + 4 > stored.length) throw corrupt('a list element is cut short')
    const length = stored.readUInt32BE(lengthAt)
    const start = lengthAt + 4
    if (start + length > stored.length) throw corrupt('a list element is cut short')
    out.push({ bytes: stored.subarray(start, start + length), expiresAt, raw: stored.subarray(at, start + length) })
    at = start + length
  }
  return out
}

// ---- map rows ----

/** A map row's value: the user key's serializer bytes, the value's bytes and the expiry. */
export function encodeMapValue(userKeyBytes: Uint8Array, bytes: Uint8Array, expiresAt: number): Buffer {
  const out = Buffer.allocUnsafe(headerSize(expiresAt) + varintSize(userKeyBytes.length) + userKeyBytes.length + bytes.length)
  let at = writeHeader(out, expiresAt)
  at = writeVarint(out, at, userKeyBytes.length)
  out.set(userKeyBytes, at)
  out.set(bytes, at + userKeyBytes.length)
  return out
}

/** Where the user key's bytes end in a map row's value; they start at `mapUserKeyStart`. */
function mapUserKeyRange(stored: Buffer): [start: number, end: number] {
  let at = payloadStart(stored)
  let length = 0
  let scale = 1
  for (;;) {
    const byte = stored[at++]
    if (byte === undefined) throw corrupt('a map entry is cut short')
    length += (byte & 0x7f) * scale
    if (byte < 0x80) break
    scale *= 0x80
  }
  if (at + length > stored.length) throw corrupt('a map entry is cut short')
  return [at, at + length]
}

/** The user key's serializer bytes of a map row (a view). */
export function mapUserKeyBytes(stored: Buffer): Buffer {
  const [start, end] = mapUserKeyRange(stored)
  return stored.subarray(start, end)
}

/** The user value's bytes of a map row (a view). */
export function mapValueBytes(stored: Buffer): Buffer {
  return stored.subarray(mapUserKeyRange(stored)[1])
}

/** The same map row with another expiry. */
export function mapWithExpiry(stored: Buffer, expiresAt: number): Buffer {
  return encodeMapValue(mapUserKeyBytes(stored), mapValueBytes(stored), expiresAt)
}
