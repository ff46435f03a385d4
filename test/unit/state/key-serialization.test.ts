import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { deserializeKey, keyIdentity, serializeKey, withSerializedKey } from '../../../src/state/key-serialization.ts'
import { InvalidKeyError } from '../../../src/errors.ts'

const bytesOf = (key: unknown): string => Buffer.from(serializeKey(key)).toString('hex')
const roundTrip = (key: unknown): unknown => deserializeKey(serializeKey(key))

/** Asserts that serializing `key` fails with an InvalidKeyError whose message contains every fragment. */
function assertInvalid(key: unknown, ...fragments: string[]): void {
  assert.throws(
    () => serializeKey(key),
    (error: unknown) => {
      assert.ok(error instanceof InvalidKeyError, `expected InvalidKeyError, got ${String(error)}`)
      assert.equal(error.code, 'INVALID_KEY')
      for (const fragment of fragments) assert.ok(error.message.includes(fragment), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(fragment)}`)
      return true
    },
  )
}

describe('key serialization', () => {
  describe('canonical bytes', () => {
    it('gives equal keys equal bytes', () => {
      assert.equal(bytesOf('abc'), bytesOf('abc'))
      assert.equal(bytesOf(42), bytesOf(42))
      assert.equal(bytesOf(10n ** 30n), bytesOf(10n ** 30n))
      assert.equal(bytesOf([1, 'a', [true]]), bytesOf([1, 'a', [true]]))
      assert.equal(bytesOf({ a: { b: [1, 2] } }), bytesOf({ a: { b: [1, 2] } }))
    })

    it('ignores the order of object fields, at every depth', () => {
      assert.equal(bytesOf({ a: 1, b: 'x' }), bytesOf({ b: 'x', a: 1 }))
      assert.equal(bytesOf({ outer: { z: 1, y: 2 }, list: [{ q: 1, p: 2 }] }), bytesOf({ list: [{ p: 2, q: 1 }], outer: { y: 2, z: 1 } }))
    })

    it('treats -0 as 0 and every NaN alike', () => {
      assert.equal(bytesOf(-0), bytesOf(0))
      assert.equal(bytesOf([-0]), bytesOf([0]))
      const otherNaN = new Float64Array(new BigUint64Array([0x7ff8000000000001n]).buffer)[0]
      assert.ok(Number.isNaN(otherNaN))
      assert.equal(bytesOf(otherNaN), bytesOf(NaN))
    })

    it('gives values of different types different bytes', () => {
      const keys: unknown[] = [1, '1', 1n, true, [1], { 1: 1 }, 0, '', 0n, false, [], {}, '0', 'true', ['1'], [[]]]
      const seen = new Map<string, unknown>()
      for (const key of keys) {
        const b = bytesOf(key)
        assert.ok(!seen.has(b), `${String(key)} and ${String(seen.get(b))} share bytes ${b}`)
        seen.set(b, key)
      }
    })

    it('keeps nesting apart: [[1], 2] differs from [1, [2]] and ["ab"] from ["a", "b"]', () => {
      assert.notEqual(bytesOf([[1], 2]), bytesOf([1, [2]]))
      assert.notEqual(bytesOf(['ab']), bytesOf(['a', 'b']))
      assert.notEqual(bytesOf({ a: 'bc' }), bytesOf({ ab: 'c' }))
    })

    it('keeps a lone surrogate apart from U+FFFD (UTF-8 cannot hold it)', () => {
      assert.notEqual(bytesOf('\ud800'), bytesOf('\ufffd'))
      assert.notEqual(bytesOf('a\udc00b'), bytesOf('a\ufffdb'))
      assert.notEqual(bytesOf('\ud800'), bytesOf('\udbff'))
      assert.equal(bytesOf('x\ud800'), bytesOf('x\ud800'))
    })

    it('is stable: pinned bytes for a few keys', () => {
      // These bytes decide key groups, so a change here moves state between subtasks on restore.
      assert.equal(bytesOf('ab'), '01000000026162')
      assert.equal(bytesOf(1), '023ff0000000000000')
      assert.equal(bytesOf(-255n), '03000000032d6666')
      assert.equal(bytesOf(true), '04')
      assert.equal(bytesOf(false), '05')
      assert.equal(bytesOf([true]), '060000000104')
      assert.equal(bytesOf({ b: false, a: true }), '07000000020100000001610401000000016205')
    })

    it('withSerializedKey gives the same bytes as serializeKey, valid during the call', () => {
      const key = { user: 'ada', n: [1, 2, 3] }
      const seen = withSerializedKey(key, (bytes, length) => Buffer.from(bytes.subarray(0, length)).toString('hex'))
      assert.equal(seen, bytesOf(key))
    })

    it('serializeKey returns a fresh copy the next key does not overwrite', () => {
      const first = serializeKey('first key')
      const copy = Buffer.from(first).toString('hex')
      serializeKey('a different and longer second key')
      assert.equal(Buffer.from(first).toString('hex'), copy)
    })

    it('handles keys larger than the scratch buffer', () => {
      const big = 'k'.repeat(10_000)
      assert.equal(roundTrip(big), big)
      const wide = Array.from({ length: 2000 }, (_, i) => ({ i, s: `s${i}` }))
      assert.deepEqual(roundTrip(wide), wide)
    })
  })

  describe('round trip through deserializeKey', () => {
    it('strings, including unicode, empty, NUL and lone surrogates', () => {
      for (const s of ['', 'a', 'hello world', 'ü', 'π', '日本語', '😀', 'a😀b', '\u0000', '\u0000x', 'x\u0000', '\ud800', 'a\udfffb', '\ud83d', '😀\ud83d']) {
        assert.equal(roundTrip(s), s, JSON.stringify(s))
      }
    })

    it('numbers, including NaN, infinities, fractions and extremes', () => {
      for (const n of [0, 1, -1, 0.5, -0.1, 1 / 3, Math.PI, 1e308, -1e-308, 5e-324, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE, Infinity, -Infinity]) {
        assert.equal(roundTrip(n), n, String(n))
      }
      assert.ok(Number.isNaN(roundTrip(NaN)))
      assert.ok(Object.is(roundTrip(-0), 0), '-0 comes back as 0')
    })

    it('bigints, including zero, negative and huge', () => {
      for (const b of [0n, 1n, -1n, 255n, -256n, 2n ** 64n, -(2n ** 64n) - 1n, 10n ** 100n, -(3n ** 500n)]) {
        assert.equal(roundTrip(b), b, String(b))
      }
    })

    it('booleans', () => {
      assert.equal(roundTrip(true), true)
      assert.equal(roundTrip(false), false)
    })

    it('nested arrays and plain objects', () => {
      const keys = [
        [],
        {},
        [[]],
        [1, 'two', 3n, false, [4, [5, { six: 6 }]]],
        { user: { id: 7, tags: ['a', 'b'] }, region: 'eu', big: -12n, ok: true },
        { '': 'empty field name', 'ü': 'unicode field', '\ud800': 'lone surrogate field' },
        { nested: { deeper: { deepest: [[[['x']]]] } } },
      ]
      for (const key of keys) assert.deepEqual(roundTrip(key), key, JSON.stringify(key, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)))
    })

    it('objects come back with sorted fields and the ordinary prototype', () => {
      const back = roundTrip({ b: 1, a: 2 }) as object
      assert.deepEqual(Object.keys(back), ['a', 'b'])
      assert.equal(Object.getPrototypeOf(back), Object.prototype)
    })

    it("a field named '__proto__' stays a field and does not change the prototype", () => {
      const key = JSON.parse('{"__proto__": {"polluted": 1}, "a": 1}') as object
      const back = roundTrip(key) as Record<string, unknown>
      assert.deepEqual(Object.keys(back), ['__proto__', 'a'])
      assert.equal(Object.getPrototypeOf(back), Object.prototype)
      assert.equal(Object.getOwnPropertyDescriptor(back, '__proto__')?.value instanceof Object, true)
      assert.equal(bytesOf(back), bytesOf(key))
    })

    it('objects without a prototype are plain objects', () => {
      const bare = Object.create(null) as Record<string, number>
      bare.x = 1
      assert.equal(bytesOf(bare), bytesOf({ x: 1 }))
    })

    it('a shared (not cyclic) sub-object is fine', () => {
      const shared = { x: 1 }
      assert.deepEqual(roundTrip([shared, shared, { again: shared }]), [{ x: 1 }, { x: 1 }, { again: { x: 1 } }])
    })

    it('serialize(deserialize(bytes)) gives the same bytes', () => {
      for (const key of ['x', 1.5, -7n, [true, { b: 2, a: '1' }], { z: [], y: {} }]) {
        const bytes = serializeKey(key)
        assert.deepEqual(serializeKey(deserializeKey(bytes)), bytes)
      }
    })

    it('reads a key from a view into a larger buffer', () => {
      const bytes = serializeKey({ a: [1, 'b'] })
      const backing = new Uint8Array(bytes.length + 10)
      backing.set(bytes, 5)
      assert.deepEqual(deserializeKey(backing.subarray(5, 5 + bytes.length)), { a: [1, 'b'] })
    })
  })

  describe('invalid keys', () => {
    it('rejects functions, symbols, undefined and null at the top level', () => {
      assertInvalid(() => 1, 'the key is a function')
      assertInvalid(Symbol('s'), 'the key is a symbol')
      assertInvalid(undefined, 'the key is undefined')
      assertInvalid(null, 'the key is null')
    })

    it('names the path of the bad part', () => {
      assertInvalid({ user: { id: () => 1 } }, 'key.user.id', 'function')
      assertInvalid({ user: { id: Symbol('id') } }, 'key.user.id', 'symbol')
      assertInvalid({ user: { name: 'a', id: undefined } }, 'key.user.id', 'undefined')
      assertInvalid({ user: null }, 'key.user', 'null')
      assertInvalid([1, [2, null]], 'key[1][1]', 'null')
      assertInvalid({ list: ['ok', { f: () => 0 }] }, 'key.list[1].f', 'function')
      // A hole in a sparse array reads as undefined.
      const sparse = [1]
      sparse[2] = 3
      assertInvalid(sparse, 'key[1]', 'undefined')
    })

    it('rejects cyclic objects and arrays', () => {
      const obj: Record<string, unknown> = { a: 1 }
      obj.self = obj
      assertInvalid(obj, 'key.self', 'cyclic')
      const arr: unknown[] = [1]
      arr.push([arr])
      assertInvalid(arr, 'key[1][0]', 'cyclic')
    })

    it('rejects class instances such as Date and Map, naming the class', () => {
      assertInvalid(new Date(0), 'the key', 'Date')
      assertInvalid(new Map([[1, 2]]), 'the key', 'Map')
      assertInvalid({ when: new Date(0) }, 'key.when', 'Date', 'not a plain object')
      assertInvalid([new Set()], 'key[0]', 'Set')
      assertInvalid({ bytes: new Uint8Array(2) }, 'key.bytes', 'Uint8Array')
      class Point {
        constructor(readonly x: number) {}
      }
      assertInvalid({ at: new Point(1) }, 'key.at', 'Point')
    })

    it('says what a key may be', () => {
      assertInvalid(null, 'a key must be a string, number, bigint, boolean, or an array or plain object of those')
    })

    it('recovers after an error: the next key serializes normally', () => {
      assertInvalid({ a: { b: [1, () => 2] } }, 'key.a.b[1]')
      assert.deepEqual(roundTrip({ a: 1 }), { a: 1 })
      assertInvalid([undefined], 'key[0]')
      assert.equal(roundTrip('fine'), 'fine')
    })
  })

  describe('corrupt bytes', () => {
    const corrupt = (bytes: number[]): void => {
      assert.throws(() => deserializeKey(Uint8Array.from(bytes)), (e: unknown) => e instanceof InvalidKeyError && /Corrupt serialized key/.test(e.message), `bytes [${bytes}]`)
    }
    it('fail with InvalidKeyError, not a RangeError or a wrong key', () => {
      corrupt([]) // nothing
      corrupt([99]) // unknown tag
      corrupt([1, 0, 0, 0, 5, 0x41]) // string shorter than its length
      corrupt([1, 0, 0]) // truncated length
      corrupt([2, 0, 0, 0]) // truncated number
      corrupt([6, 0, 0, 0, 2, 4]) // array missing an element
      corrupt([3, 0, 0, 0, 1, 0x7a]) // bigint digit out of range
      corrupt([7, 0, 0, 0, 1, 4, 4]) // object field name that is not a string
      corrupt([4, 4]) // trailing bytes
    })
  })

  describe('keyIdentity', () => {
    it('primitives stand for themselves (-0 as 0)', () => {
      assert.equal(keyIdentity('abc'), 'abc')
      assert.equal(keyIdentity(5), 5)
      assert.ok(Object.is(keyIdentity(-0), 0))
      assert.equal(keyIdentity(5n), 5n)
      assert.equal(keyIdentity(true), true)
      assert.ok(Number.isNaN(keyIdentity(NaN)))
    })

    it('equal composite keys have equal identities, whatever the field order', () => {
      assert.equal(keyIdentity({ a: 1, b: [2, 'x'] }), keyIdentity({ b: [2, 'x'], a: 1 }))
      assert.equal(keyIdentity([1, 2]), keyIdentity([1, 2]))
      assert.notEqual(keyIdentity([1, 2]), keyIdentity([2, 1]))
    })

    it('is one to one across types: 1, "1", 1n, true, [1] and {1: 1} are six map keys', () => {
      const map = new Map<unknown, string>()
      const keys: unknown[] = [1, '1', 1n, true, [1], { 1: 1 }, '', 0, 0n, false, [], {}]
      for (const key of keys) map.set(keyIdentity(key), String(key))
      assert.equal(map.size, keys.length)
    })

    it('a string starting with NUL never collides with a composite key', () => {
      const composite = ['a']
      const id = keyIdentity(composite)
      assert.equal(typeof id, 'string')
      assert.ok((id as string).startsWith('\u0000'))
      // A string spelled exactly like the composite's identity gets an extra NUL, so it differs.
      assert.notEqual(keyIdentity(id), id)
      assert.notEqual(keyIdentity(id as string), keyIdentity(composite))
      assert.notEqual(keyIdentity('\u0000'), keyIdentity([]))
      assert.notEqual(keyIdentity('\u0000'), keyIdentity('\u0000\u0000'))
      assert.equal(keyIdentity('\u0000x'), keyIdentity('\u0000x'))

      const map = new Map<unknown, unknown>()
      for (const key of [composite, id, `\u0000${String(id)}`, '\u0000', '\u0000\u0000', {}, []]) map.set(keyIdentity(key), key)
      assert.equal(map.size, 7)
    })

    it('rejects invalid keys as serializeKey does', () => {
      assert.throws(() => keyIdentity(undefined), InvalidKeyError)
      assert.throws(() => keyIdentity(null), InvalidKeyError)
      assert.throws(() => keyIdentity(() => 1), InvalidKeyError)
      assert.throws(() => keyIdentity({ d: new Date() }), /key\.d/)
    })
  })
})
