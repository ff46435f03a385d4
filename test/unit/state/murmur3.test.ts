import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { murmur3_32 } from '../../../src/state/murmur3.ts'

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8')
const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`

/**
 * A second implementation written straight from the reference C code with BigInt arithmetic, so it
 * shares none of the 32-bit tricks (`Math.imul`, `| 0`, `>>> 0`) the engine's version relies on.
 */
function referenceMurmur3(data: Uint8Array, seed: number): number {
  const mask = 0xffffffffn
  const mul = (a: bigint, b: bigint): bigint => (a * b) & mask
  const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (32n - r))) & mask
  const c1 = 0xcc9e2d51n
  const c2 = 0x1b873593n
  let h = BigInt(seed >>> 0)
  const nblocks = Math.floor(data.length / 4)
  for (let b = 0; b < nblocks; b++) {
    let k = 0n
    for (let j = 3; j >= 0; j--) k = (k << 8n) | BigInt(data[b * 4 + j])
    k = mul(rotl(mul(k, c1), 15n), c2)
    h ^= k
    h = (mul(rotl(h, 13n), 5n) + 0xe6546b64n) & mask
  }
  let k = 0n
  for (let j = data.length - 1; j >= nblocks * 4; j--) k = (k << 8n) | BigInt(data[j])
  if (data.length % 4 !== 0) h ^= mul(rotl(mul(k, c1), 15n), c2)
  h ^= BigInt(data.length)
  h ^= h >> 16n
  h = mul(h, 0x85ebca6bn)
  h ^= h >> 13n
  h = mul(h, 0xc2b2ae35n)
  h ^= h >> 16n
  return Number(h)
}

// Published MurmurHash3_x86_32 answers. Each appears in several independent public test suites
// (e.g. MongoDB's murmurhash3 tests, Python mmh3's tests, the SMHasher-derived table on
// Stack Overflow question 14747343), and the BigInt reference above agrees with all of them.
const BYTE_VECTORS: [number[], number, number][] = [
  [[], 0, 0],
  [[], 1, 0x514e28b7],
  [[], 0xffffffff, 0x81f16f39],
  [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
  [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
  [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
  [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
  [[0x21, 0x43], 0, 0xa0f7b07a],
  [[0x21], 0, 0x72661cf4],
  [[0, 0, 0, 0], 0, 0x2362f9de],
  [[0, 0, 0], 0, 0x85f0b427],
  [[0, 0], 0, 0x30f4c306],
  [[0], 0, 0x514e28b7],
]

const STRING_VECTORS: [string, number, number][] = [
  ['', 0, 0],
  ['a', 0, 0x3c2569b2],
  ['ab', 0, 0x9bbfd75f],
  ['abc', 0, 0xb3dd93fa],
  ['test', 0, 0xba6bd213],
  ['test', 0x9747b28c, 0x704b81dc],
  ['Hello, world!', 0, 0xc0363e43],
  ['Hello, world!', 0x9747b28c, 0x24884cba],
  ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ['a', 0x9747b28c, 0x7fa09ea6],
  ['aa', 0x9747b28c, 0x5d211726],
  ['aaa', 0x9747b28c, 0x283e0130],
  ['aaaa', 0x9747b28c, 0x5a97808a],
  ['ab', 0x9747b28c, 0x74875592],
  ['abc', 0x9747b28c, 0xc84a62dd],
  ['abcd', 0x9747b28c, 0xf0478627],
  // Two-byte UTF-8 characters: the hash is over UTF-8 bytes, not UTF-16 code units.
  ['ππππππππ', 0x9747b28c, 0xd58063c1],
  ['a'.repeat(256), 0x9747b28c, 0x37405bdc],
]

describe('murmur3_32', () => {
  it('matches the published byte vectors (every tail length, unsigned seeds)', () => {
    for (const [bytes, seed, expected] of BYTE_VECTORS) {
      const data = Uint8Array.from(bytes)
      assert.equal(hex(referenceMurmur3(data, seed)), hex(expected), `reference implementation, [${bytes}] seed ${hex(seed)}`)
      assert.equal(hex(murmur3_32(data, seed)), hex(expected), `[${bytes}] seed ${hex(seed)}`)
    }
  })

  it('matches the published string vectors', () => {
    for (const [text, seed, expected] of STRING_VECTORS) {
      assert.equal(hex(referenceMurmur3(utf8(text), seed)), hex(expected), `reference implementation, ${JSON.stringify(text)}`)
      assert.equal(hex(murmur3_32(utf8(text), seed)), hex(expected), `${JSON.stringify(text).slice(0, 40)} seed ${hex(seed)}`)
    }
  })

  it('passes SMHasher VerificationTest (0xB0F57EE3)', () => {
    // SMHasher's self-check: hash the prefixes of [0, 1, ..., 255] of every length 0..255 with seed
    // 256 - length, concatenate the little-endian results, hash that with seed 0. It exercises every
    // block count, tail length and many seeds in one number.
    const key = Uint8Array.from({ length: 256 }, (_, i) => i)
    const hashes = Buffer.alloc(256 * 4)
    for (let i = 0; i < 256; i++) hashes.writeUInt32LE(murmur3_32(key.subarray(0, i), 256 - i), i * 4)
    assert.equal(hex(murmur3_32(hashes, 0)), hex(0xb0f57ee3))
  })

  it('agrees with the reference implementation on pseudo-random inputs of every length 0..64', () => {
    let state = 0x12345678
    const next = (): number => {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      return state >>> 0
    }
    for (let length = 0; length <= 64; length++) {
      for (let round = 0; round < 4; round++) {
        const data = Uint8Array.from({ length }, () => next() & 0xff)
        const seed = next()
        assert.equal(murmur3_32(data, seed), referenceMurmur3(data, seed), `length ${length}, seed ${hex(seed)}`)
      }
    }
  })

  it('returns an unsigned 32-bit integer and defaults the seed to 0', () => {
    for (const text of ['', 'x', 'key-1', 'Hello, world!']) {
      const h = murmur3_32(utf8(text))
      assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff, `${text}: ${h}`)
      assert.equal(h, murmur3_32(utf8(text), 0))
    }
    // 0xba6bd213 has the top bit set: a signed result would be negative.
    assert.equal(murmur3_32(utf8('test')), 0xba6bd213)
  })

  it('treats negative seeds as their unsigned 32-bit value', () => {
    assert.equal(murmur3_32(new Uint8Array(0), -1), 0x81f16f39)
    assert.equal(murmur3_32(utf8('Hello, world!'), 0x9747b28c - 0x100000000), 0x24884cba)
  })

  describe('length parameter', () => {
    it('hashes only the first `length` bytes of a larger buffer', () => {
      const buffer = utf8('Hello, world! and then some trailing bytes that must be ignored')
      assert.equal(murmur3_32(buffer, 0, 13), 0xc0363e43)
      assert.equal(murmur3_32(buffer, 0x9747b28c, 13), 0x24884cba)
      assert.equal(murmur3_32(buffer, 0, 4), murmur3_32(utf8('Hell')))
      assert.equal(murmur3_32(buffer, 0, 0), 0)
      assert.equal(murmur3_32(buffer, 1, 0), 0x514e28b7)
    })

    it('gives the same answer as hashing the prefix on its own, for every prefix length', () => {
      const buffer = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 0xff)
      for (let n = 0; n <= buffer.length; n++) {
        assert.equal(murmur3_32(buffer, 7, n), murmur3_32(buffer.slice(0, n), 7), `prefix of ${n} bytes`)
        assert.equal(murmur3_32(buffer, 7, n), referenceMurmur3(buffer.subarray(0, n), 7), `prefix of ${n} bytes (reference)`)
      }
    })

    it('works on a view into a shared ArrayBuffer', () => {
      const backing = utf8('xxxxtestyyyy')
      const view = backing.subarray(4, 8)
      assert.equal(murmur3_32(view), 0xba6bd213)
      assert.equal(murmur3_32(backing.subarray(4), 0, 4), 0xba6bd213)
    })
  })
})
