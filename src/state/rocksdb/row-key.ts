/**
 * Layout of RocksDB keys. Every state has a 2-byte id (the binding cannot add column families to
 * an open database, and states are registered after it is open, so a prefix stands for a column
 * family). Within a state, rows are ordered by key group first, so a key-group range is one
 * contiguous key range:
 *
 *   stateId (2, big-endian) | keyGroup (2, big-endian) | len | key | len | namespace | [user key]
 *
 * `key` is the canonical key bytes (`serializeKey`), `namespace` the namespace serializer's bytes,
 * `len` an unsigned LEB128 length. The lengths make a (key, namespace) prefix unambiguous, so the
 * user key of map state can follow it and all entries of one map are one prefix range.
 */

/** The largest state id: 0xffff is kept free so that every state range has an upper bound. */
export const MAX_STATE_ID = 0xfffe

/** Bytes an unsigned LEB128 length takes. */
export function varintSize(n: number): number {
  let size = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    size++
  }
  return size
}

/** Writes `n` as unsigned LEB128 at `at`; returns the position after it. */
export function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 0x80)
  }
  buf[at++] = n
  return at
}

/** `varint(bytes.length) | bytes`, as the key and namespace parts are stored. */
export function lengthPrefixed(bytes: Uint8Array, length = bytes.length): Buffer {
  const out = Buffer.allocUnsafe(varintSize(length) + length)
  const at = writeVarint(out, 0, length)
  out.set(length === bytes.length ? bytes : bytes.subarray(0, length), at)
  return out
}

/** `keyGroup | varint(len) | key`: the part of a row key fixed by the current key. */
export function keyPart(keyGroup: number, key: Uint8Array, length: number): Buffer {
  const out = Buffer.allocUnsafe(2 + varintSize(length) + length)
  out[0] = keyGroup >>> 8
  out[1] = keyGroup & 0xff
  const at = writeVarint(out, 2, length)
  out.set(length === key.length ? key : key.subarray(0, length), at)
  return out
}

/** A full row key: state id, then the parts in order. */
export function rowKey(stateId: number, part1: Uint8Array, part2: Uint8Array, part3?: Uint8Array): Buffer {
  const length = 2 + part1.length + part2.length + (part3 === undefined ? 0 : part3.length)
  const out = Buffer.allocUnsafe(length)
  out[0] = stateId >>> 8
  out[1] = stateId & 0xff
  out.set(part1, 2)
  out.set(part2, 2 + part1.length)
  if (part3 !== undefined) out.set(part3, 2 + part1.length + part2.length)
  return out
}

/** The first key of a state's key group (inclusive bound). */
export function keyGroupStart(stateId: number, keyGroup: number): Buffer {
  return Buffer.from([stateId >>> 8, stateId & 0xff, keyGroup >>> 8, keyGroup & 0xff])
}

/** The first key of a state (inclusive bound). */
export function stateStart(stateId: number): Buffer {
  return Buffer.from([stateId >>> 8, stateId & 0xff])
}

/** The first key after a state (exclusive bound). */
export function stateEnd(stateId: number): Buffer {
  return stateStart(stateId + 1)
}

/** The smallest key greater than every key starting with `prefix` (exclusive upper bound). */
export function prefixEnd(prefix: Uint8Array): Buffer {
  let end = prefix.length
  while (end > 0 && prefix[end - 1] === 0xff) end--
  // Every prefix here starts with a state id below 0xffff, so some byte can be incremented.
  const out = Buffer.from(prefix.subarray(0, end))
  out[end - 1]++
  return out
}

/** Where the parts of a row key are; filled in place by `parseRowKey` to spare allocations. */
export class RowKeyParts {
  stateId = 0
  keyGroup = 0
  keyStart = 0
  keyEnd = 0
  namespaceStart = 0
  namespaceEnd = 0

  /** The key bytes (a view into the row key). */
  key(row: Buffer): Buffer {
    return row.subarray(this.keyStart, this.keyEnd)
  }

  namespace(row: Buffer): Buffer {
    return row.subarray(this.namespaceStart, this.namespaceEnd)
  }

  /** The user key of a map row (empty for other kinds). */
  userKey(row: Buffer): Buffer {
    return row.subarray(this.namespaceEnd)
  }

  /** `keyGroup | key | namespace` with their lengths: equal for all rows of one (key, namespace). */
  keyAndNamespace(row: Buffer): Buffer {
    return row.subarray(2, this.namespaceEnd)
  }
}

function readVarint(buf: Buffer, at: number, parts: RowKeyParts, end: 'key' | 'namespace'): number {
  let n = 0
  let scale = 1
  for (;;) {
    const byte = buf[at++]
    if (byte === undefined) throw new Error(`Corrupt RocksDB row key: its ${end} length runs past its end`)
    n += (byte & 0x7f) * scale
    if (byte < 0x80) break
    scale *= 0x80
  }
  if (end === 'key') {
    parts.keyStart = at
    parts.keyEnd = at + n
  } else {
    parts.namespaceStart = at
    parts.namespaceEnd = at + n
  }
  return at + n
}

/** Splits a row key into its parts (into `parts`, which it returns). */
export function parseRowKey(row: Buffer, parts: RowKeyParts): RowKeyParts {
  parts.stateId = (row[0] << 8) | row[1]
  parts.keyGroup = (row[2] << 8) | row[3]
  const afterKey = readVarint(row, 4, parts, 'key')
  const afterNamespace = readVarint(row, afterKey, parts, 'namespace')
  if (afterNamespace > row.length) throw new Error('Corrupt RocksDB row key: its namespace runs past its end')
  return parts
}
