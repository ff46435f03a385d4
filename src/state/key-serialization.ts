import { InvalidKeyError } from '../errors.ts'

/**
 * Canonical key serialization: the same logical key gives the same bytes in every process, so it
 * lands in the same key group everywhere. Object keys are sorted; -0 is 0; only strings, numbers,
 * bigints, booleans, and arrays and plain objects of those are keys.
 */

const TAG_STRING = 1
const TAG_NUMBER = 2
const TAG_BIGINT = 3
const TAG_TRUE = 4
const TAG_FALSE = 5
const TAG_ARRAY = 6
const TAG_OBJECT = 7
/** A string with a lone surrogate: UTF-8 cannot hold it, so its UTF-16 code units are stored. */
const TAG_UTF16_STRING = 8

// In a `u` regex a surrogate pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /\p{Surrogate}/u

const float = new Float64Array(1)
const floatBytes = new Uint8Array(float.buffer)
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

function writeLength(buf: Buffer, at: number, n: number): void {
  buf[at] = n >>> 24
  buf[at + 1] = (n >>> 16) & 0xff
  buf[at + 2] = (n >>> 8) & 0xff
  buf[at + 3] = n & 0xff
}

/** A value the key selector may return. */
export type Key = string | number | bigint | boolean | readonly Key[] | { readonly [field: string]: Key }

class KeyWriter {
  buf: Buffer
  pos = 0
  private readonly path: (string | number)[] = []
  private readonly seen = new Set<object>()
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size)
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  private fail(problem: string): never {
    const where = this.path.length === 0 ? 'the key' : `key${this.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('')}`
    throw new InvalidKeyError(`${where} ${problem}; a key must be a string, number, bigint, boolean, or an array or plain object of those`)
  }

  write(value: unknown): void {
    switch (typeof value) {
      case 'string': {
        const len = value.length
        this.ensure(5 + len * 3)
        const buf = this.buf
        const start = this.pos + 5
        // Short ASCII strings (most keys) are copied by hand: cheaper than Buffer.write's call.
        let n = len <= 64 ? 0 : -1
        if (n === 0) {
          for (; n < len; n++) {
            const c = value.charCodeAt(n)
            if (c >= 0x80) break
            buf[start + n] = c
          }
        }
        if (n !== len) {
          n = buf.write(value, start, 'utf8')
          // UTF-8 would turn a lone surrogate into U+FFFD, so two different keys would share bytes
          // and the key would change across a snapshot. An ASCII string (n === length) has none.
          if (n !== len && LONE_SURROGATE.test(value)) {
            this.writeUtf16(value)
            return
          }
        }
        buf[this.pos] = TAG_STRING
        writeLength(buf, this.pos + 1, n)
        this.pos = start + n
        return
      }
      case 'number': {
        this.ensure(9)
        const buf = this.buf
        buf[this.pos] = TAG_NUMBER
        float[0] = value === 0 ? 0 : Number.isNaN(value) ? NaN : value
        // Big-endian, as readDoubleBE reads it back.
        const at = this.pos + 1
        if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) buf[at + i] = floatBytes[7 - i]
        else for (let i = 0; i < 8; i++) buf[at + i] = floatBytes[i]
        this.pos += 9
        return
      }
      case 'bigint': {
        const text = value.toString(16)
        this.ensure(6 + text.length)
        this.buf[this.pos] = TAG_BIGINT
        const n = this.buf.write(text, this.pos + 5, 'latin1')
        this.buf.writeUInt32BE(n, this.pos + 1)
        this.pos += 5 + n
        return
      }
      case 'boolean':
        this.ensure(1)
        this.buf[this.pos++] = value ? TAG_TRUE : TAG_FALSE
        return
      case 'object':
        if (value === null) this.fail('is null')
        this.writeComposite(value)
        return
      case 'undefined':
        this.fail('is undefined')
      // falls through (fail never returns)
      default:
        this.fail(`is a ${typeof value}`)
    }
  }

  private writeUtf16(value: string): void {
    this.ensure(5 + value.length * 2)
    this.buf[this.pos] = TAG_UTF16_STRING
    this.buf.writeUInt32BE(value.length, this.pos + 1)
    this.pos += 5
    for (let i = 0; i < value.length; i++) {
      this.buf.writeUInt16BE(value.charCodeAt(i), this.pos)
      this.pos += 2
    }
  }

  private writeComposite(value: object): void {
    if (this.seen.has(value)) this.fail('is cyclic (an object contains itself)')
    this.seen.add(value)
    if (Array.isArray(value)) {
      this.ensure(5)
      this.buf[this.pos] = TAG_ARRAY
      this.buf.writeUInt32BE(value.length, this.pos + 1)
      this.pos += 5
      for (let i = 0; i < value.length; i++) {
        this.path.push(i)
        this.write(value[i])
        this.path.pop()
      }
    } else {
      const proto: unknown = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) {
        this.fail(`is an instance of ${(value.constructor as { name?: string } | undefined)?.name ?? 'a class'}, not a plain object`)
      }
      const record = value as Record<string, unknown>
      const fields = Object.keys(record).sort()
      this.ensure(5)
      this.buf[this.pos] = TAG_OBJECT
      this.buf.writeUInt32BE(fields.length, this.pos + 1)
      this.pos += 5
      for (const field of fields) {
        this.write(field)
        this.path.push(field)
        this.write(record[field])
        this.path.pop()
      }
    }
    this.seen.delete(value)
  }

  reset(): void {
    this.pos = 0
    // Only an error leaves these non-empty; clearing an empty Set still costs on every key.
    if (this.path.length > 0) this.path.length = 0
    if (this.seen.size > 0) this.seen.clear()
  }
}

const scratch = new KeyWriter(1024)

/**
 * Serializes a key into a shared scratch buffer and calls `use` with the bytes; avoids an allocation
 * per record on the hot path. The bytes are only valid during the call.
 */
export function withSerializedKey<R>(key: unknown, use: (bytes: Buffer, length: number) => R): R {
  const length = writeKeyToScratch(key)
  return use(scratch.buf, length)
}

/**
 * Serializes a key into the shared scratch buffer and returns its length; the bytes are in
 * `scratchKeyBuffer()` until the next call. The cheapest form, for hashing on the hot path.
 */
export function writeKeyToScratch(key: unknown): number {
  scratch.reset()
  scratch.write(key)
  return scratch.pos
}

/** The buffer `writeKeyToScratch` wrote into (it may be replaced when a key outgrows it). */
export function scratchKeyBuffer(): Buffer {
  return scratch.buf
}

/** The canonical bytes of a key (a fresh copy). Throws `InvalidKeyError` naming what is wrong. */
export function serializeKey(key: unknown): Uint8Array {
  return withSerializedKey(key, (bytes, length) => Uint8Array.prototype.slice.call(bytes, 0, length))
}

class KeyReader {
  pos = 0
  constructor(private readonly buf: Buffer) {}

  // Bounds are checked here so corrupt input fails as InvalidKeyError, not as a RangeError or a
  // silently truncated string.
  private take(n: number): number {
    const at = this.pos
    if (at + n > this.buf.length) throw new InvalidKeyError(`Corrupt serialized key: needs ${n} bytes at byte ${at}, only ${this.buf.length - at} left`)
    this.pos += n
    return at
  }

  private readLength(): number {
    return this.buf.readUInt32BE(this.take(4))
  }

  read(): Key {
    const tag = this.buf[this.take(1)]
    switch (tag) {
      case TAG_STRING: {
        const n = this.readLength()
        const at = this.take(n)
        return this.buf.toString('utf8', at, at + n)
      }
      case TAG_UTF16_STRING: {
        const n = this.readLength()
        const at = this.take(n * 2)
        let s = ''
        for (let i = 0; i < n; i++) s += String.fromCharCode(this.buf.readUInt16BE(at + i * 2))
        return s
      }
      case TAG_NUMBER:
        return this.buf.readDoubleBE(this.take(8))
      case TAG_BIGINT: {
        const n = this.readLength()
        const at = this.take(n)
        const text = this.buf.toString('latin1', at, at + n)
        if (!/^-?[0-9a-f]+$/.test(text)) throw new InvalidKeyError(`Corrupt serialized key: bad bigint digits at byte ${at}`)
        return text.startsWith('-') ? -BigInt(`0x${text.slice(1)}`) : BigInt(`0x${text}`)
      }
      case TAG_TRUE:
        return true
      case TAG_FALSE:
        return false
      case TAG_ARRAY: {
        const n = this.readLength()
        const out: Key[] = []
        for (let i = 0; i < n; i++) out.push(this.read())
        return out
      }
      case TAG_OBJECT: {
        const n = this.readLength()
        const out: Record<string, Key> = {}
        for (let i = 0; i < n; i++) {
          const at = this.pos
          const field = this.read()
          if (typeof field !== 'string') throw new InvalidKeyError(`Corrupt serialized key: field name at byte ${at} is not a string`)
          // Plain assignment of '__proto__' would set the prototype instead of adding the field.
          Object.defineProperty(out, field, { value: this.read(), enumerable: true, writable: true, configurable: true })
        }
        return out
      }
      default:
        throw new InvalidKeyError(`Corrupt serialized key: unknown tag ${tag} at byte ${this.pos - 1}`)
    }
  }
}

/** Reads a key written by `serializeKey`. */
export function deserializeKey(bytes: Uint8Array): Key {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const reader = new KeyReader(buf)
  const key = reader.read()
  if (reader.pos !== buf.length) throw new InvalidKeyError(`Corrupt serialized key: ${buf.length - reader.pos} trailing bytes`)
  return key
}

/** A primitive standing for a key in JavaScript `Map`s: equal keys give equal identities. */
export type KeyIdentity = string | number | bigint | boolean

/**
 * The `Map` identity of a key. Primitives stand for themselves; composite keys become their canonical
 * bytes as a string behind a NUL, and a string that itself starts with NUL gets one more, so the
 * mapping stays one to one.
 */
export function keyIdentity(key: unknown): KeyIdentity {
  switch (typeof key) {
    case 'string':
      return key.charCodeAt(0) === 0 ? `\u0000${key}` : key
    case 'number':
      return key === 0 ? 0 : key
    case 'bigint':
    case 'boolean':
      return key
    default:
      return withSerializedKey(key, (bytes, length) => `\u0000${bytes.toString('latin1', 0, length)}`)
  }
}
