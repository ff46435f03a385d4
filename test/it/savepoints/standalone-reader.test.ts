import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Unpackr } from 'msgpackr'
// Setup only: runs the word-count example with the engine to produce a savepoint. The reader below
// uses nothing of it, nor anything else of the engine.
import { wordCountSavepoint, type WordCountSavepoint } from './word-count-savepoint.ts'

// ===== reader: begin =====
// A savepoint reader written from docs/snapshot-format.md, using only Node's standard library and
// msgpackr. Section numbers refer to that document.

interface StateFileRef {
  path: string
  size: number
  sha256: string
}

interface OperatorMeta {
  uid: string
  name: string
  parallelism: number
  maxParallelism: number
  subtasks: (StateFileRef | null)[]
}

interface SavepointMeta {
  formatVersion: number
  kind: 'checkpoint' | 'savepoint'
  jobId: string
  jobName: string
  checkpointId: number
  timestamp: number
  operators: OperatorMeta[]
}

interface SerializerRef {
  id: string
  version: number
}

interface KeyedStateMeta {
  name: string
  kind: 'value' | 'list' | 'map' | 'reducing' | 'aggregating'
  valueSerializer: SerializerRef
  mapKeySerializer?: SerializerRef
  namespaceSerializer: SerializerRef
}

interface StateFileHeader {
  keyed: { maxParallelism: number; keyGroupRange: { start: number; end: number }; states: KeyedStateMeta[] } | null
  keyedIndex: number[]
  timers: { maxParallelism: number; services: { name: string; namespaceSerializer: string }[] } | null
  timerIndex: number[]
  operator: [number, number]
  channels: [number, number] | null
  dataLength: number
}

// Section 4: msgpackr decodes the three extensions (typed arrays, ids, references) itself.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint', structuredClone: true })
const utf8 = new TextDecoder('utf-8', { fatal: true })

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Section 2: `_metadata`, its format tag, version and checksum. */
function readMetadata(dir: string): SavepointMeta {
  const document = JSON.parse(readFileSync(join(dir, '_metadata'), 'utf8')) as { format: string; formatVersion: number; sha256: string; metadata: SavepointMeta }
  if (document.format !== 'weir-snapshot-metadata') throw new Error(`${dir}: not a Weir snapshot`)
  if (document.formatVersion !== 1) throw new Error(`${dir}: format version ${document.formatVersion} is not 1`)
  if (sha256(JSON.stringify(document.metadata)) !== document.sha256) throw new Error(`${dir}: _metadata checksum mismatch`)
  return document.metadata
}

/** Section 3: one state file, checked against its size and checksum, split into header and data. */
function readStateFile(dir: string, ref: StateFileRef): { header: StateFileHeader; data: Uint8Array } {
  if (isAbsolute(ref.path) || ref.path.split(/[\\/]/).some((part) => part === '' || part === '.' || part === '..')) throw new Error(`bad path ${ref.path}`)
  const bytes = readFileSync(join(dir, ref.path))
  if (bytes.length !== ref.size || sha256(bytes) !== ref.sha256) throw new Error(`${ref.path}: size or checksum mismatch`)
  if (bytes.toString('latin1', 0, 4) !== 'WSST') throw new Error(`${ref.path}: no WSST magic`)
  const version = bytes.readUInt16BE(4)
  if (version !== 1) throw new Error(`${ref.path}: state file version ${version} is not 1`)
  const headerLength = bytes.readUInt32BE(6)
  const header = unpackr.unpack(bytes.subarray(10, 10 + headerLength)) as StateFileHeader
  const data = bytes.subarray(10 + headerLength)
  if (header.dataLength !== data.length) throw new Error(`${ref.path}: data length mismatch`)
  return { header, data }
}

function asBytes(value: unknown, what: string): Uint8Array {
  // Section 4: bin and ext 0x74 both decode to a Uint8Array (a Buffer is one too).
  if (value instanceof Uint8Array) return value
  throw new Error(`${what} is not a byte string`)
}

/** Section 8: the canonical key encoding. */
function decodeKey(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = 0
  const u32 = (): number => {
    const n = view.getUint32(at)
    at += 4
    return n
  }
  const read = (): unknown => {
    const tag = bytes[at++]
    switch (tag) {
      case 1: {
        const n = u32()
        const text = utf8.decode(bytes.subarray(at, at + n))
        at += n
        return text
      }
      case 2: {
        const n = view.getFloat64(at)
        at += 8
        return n
      }
      case 3: {
        const n = u32()
        const hex = String.fromCharCode(...bytes.subarray(at, at + n))
        at += n
        return hex.startsWith('-') ? -BigInt(`0x${hex.slice(1)}`) : BigInt(`0x${hex}`)
      }
      case 4:
        return true
      case 5:
        return false
      case 6: {
        const n = u32()
        return Array.from({ length: n }, () => read())
      }
      case 7: {
        const n = u32()
        const out: Record<string, unknown> = {}
        for (let i = 0; i < n; i++) {
          const field = read() as string
          Object.defineProperty(out, field, { value: read(), enumerable: true, writable: true, configurable: true })
        }
        return out
      }
      case 8: {
        const n = u32()
        let text = ''
        for (let i = 0; i < n; i++, at += 2) text += String.fromCharCode(view.getUint16(at))
        return text
      }
      default:
        throw new Error(`unknown key tag ${tag}`)
    }
  }
  const key = read()
  if (at !== bytes.length) throw new Error('trailing bytes after a key')
  return key
}

/** Section 9: MurmurHash3 x86 32-bit, seed 0. */
function murmur3(bytes: Uint8Array): number {
  let h = 0
  const blocks = bytes.length & ~3
  const mix = (k: number): number => {
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    return Math.imul(k, 0x1b873593)
  }
  for (let i = 0; i < blocks; i += 4) {
    h ^= mix(bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  const tail = bytes.length & 3
  if (tail > 0) {
    let k = 0
    if (tail === 3) k ^= bytes[blocks + 2] << 16
    if (tail >= 2) k ^= bytes[blocks + 1] << 8
    k ^= bytes[blocks]
    h ^= mix(k)
  }
  h ^= bytes.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Section 10: the built-in value serializers. */
function decodeValue(serializer: SerializerRef, bytes: Uint8Array): unknown {
  switch (serializer.id) {
    case 'number':
      return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0)
    case 'string':
      return utf8.decode(bytes)
    case 'boolean':
      return bytes[0] === 1
    case 'bigint':
      return BigInt(utf8.decode(bytes))
    case 'json':
      return JSON.parse(utf8.decode(bytes))
    case 'msgpack':
      return unpackr.unpack(bytes)
    default:
      throw new Error(`serializer '${serializer.id}' is not built in`)
  }
}

/** Section 5: a payload, by state kind. */
function decodePayload(state: KeyedStateMeta, payload: unknown): unknown {
  const items = payload as unknown[]
  switch (state.kind) {
    case 'list':
      return items.map((element) => decodeValue(state.valueSerializer, asBytes((element as unknown[])[0], 'an element')))
    case 'map':
      return new Map(
        items.map((entry) => {
          const [k, v] = entry as unknown[]
          return [decodeValue(state.mapKeySerializer!, asBytes(k, 'a map key')), decodeValue(state.valueSerializer, asBytes(v, 'a map value'))]
        }),
      )
    default:
      return decodeValue(state.valueSerializer, asBytes(items[0], 'a value'))
  }
}

/** Operators and their keyed states and timer counts, from the metadata and the file headers. */
function listSavepoint(dir: string): { jobName: string; operators: { uid: string; maxParallelism: number; keyedStates: KeyedStateMeta[]; timers: number }[] } {
  const meta = readMetadata(dir)
  return {
    jobName: meta.jobName,
    operators: meta.operators.map((op) => {
      const keyedStates: KeyedStateMeta[] = []
      let timers = 0
      for (const ref of op.subtasks) {
        if (ref === null) continue
        const { header, data } = readStateFile(dir, ref)
        for (const state of header.keyed?.states ?? []) if (!keyedStates.some((s) => s.name === state.name)) keyedStates.push(state)
        // Section 6: each timer blob is an array of timers.
        for (let i = 0; i < header.timerIndex.length; i += 3) {
          const [offset, length] = [header.timerIndex[i + 1], header.timerIndex[i + 2]]
          timers += (unpackr.unpack(data.subarray(offset, offset + length)) as unknown[]).length
        }
      }
      return { uid: op.uid, maxParallelism: op.maxParallelism, keyedStates, timers }
    }),
  }
}

/** Sections 3, 5, 8, 9, 10: every (key, namespace) of a keyed state with its value. */
function* readKeyedState(dir: string, uid: string, stateName: string): Generator<{ key: unknown; namespaceBytes: Uint8Array; value: unknown; keyGroup: number }> {
  const op = readMetadata(dir).operators.find((o) => o.uid === uid)
  if (op === undefined) throw new Error(`no operator '${uid}'`)
  for (const ref of op.subtasks) {
    if (ref === null) continue
    const { header, data } = readStateFile(dir, ref)
    const index = header.keyed?.states.findIndex((s) => s.name === stateName) ?? -1
    if (index < 0) continue
    const state = header.keyed!.states[index]
    for (let i = 0; i < header.keyedIndex.length; i += 3) {
      const [keyGroup, offset, length] = [header.keyedIndex[i], header.keyedIndex[i + 1], header.keyedIndex[i + 2]]
      const items = unpackr.unpack(data.subarray(offset, offset + length)) as [number, unknown[][]][]
      for (const [stateIndex, entries] of items) {
        if (stateIndex !== index) continue
        for (const [keyBytes, namespaceBytes, payload] of entries) {
          const keyGroupOfKey = murmur3(asBytes(keyBytes, 'a key')) % op.maxParallelism
          if (keyGroupOfKey !== keyGroup) throw new Error(`a key of key group ${keyGroupOfKey} is stored in key group ${keyGroup}`)
          yield { key: decodeKey(asBytes(keyBytes, 'a key')), namespaceBytes: asBytes(namespaceBytes, 'a namespace'), value: decodePayload(state, payload), keyGroup }
        }
      }
    }
  }
}
// ===== reader: end =====

const root = mkdtempSync(join(tmpdir(), 'weir-standalone-'))
after(() => rmSync(root, { recursive: true, force: true }))
let fixture: WordCountSavepoint

before(async () => {
  fixture = await wordCountSavepoint(root)
})

test('a reader written from the format document finds every word of the word-count savepoint and its count', () => {
  const counts = new Map<string, number>()
  for (const { key, namespaceBytes, value } of readKeyedState(fixture.savepoint, 'count', 'count')) {
    assert.equal(typeof key, 'string')
    assert.equal(typeof value, 'number')
    assert.equal(namespaceBytes.length, 0, 'state outside windows has the empty void namespace')
    assert.equal(counts.has(key as string), false, `word ${String(key)} read twice`)
    counts.set(key as string, value as number)
  }
  assert.ok(fixture.expected.size > 100, `the input should have many words, got ${fixture.expected.size}`)
  assert.deepEqual(counts, fixture.expected)
})

test('it lists the operators, the keyed state with its serializers, and one timer per word', () => {
  const listing = listSavepoint(fixture.savepoint)
  assert.equal(listing.jobName, 'word-count')
  const count = listing.operators.find((o) => o.uid === 'count')
  assert.ok(count, "the operator 'count' is listed")
  assert.equal(count.maxParallelism, 128)
  assert.deepEqual(count.keyedStates, [{ name: 'count', kind: 'value', valueSerializer: { id: 'number', version: 1 }, namespaceSerializer: { id: 'void', version: 1 } }])
  assert.equal(count.timers, fixture.expected.size)
  assert.ok(listing.operators.some((o) => o.uid === 'sink'), 'operators without state are listed too')
})

test('the reader imports nothing from the engine', () => {
  const source = readFileSync(fileURLToPath(import.meta.url), 'utf8')
  const specifiers = [...source.matchAll(/^import\b[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1])
  for (const specifier of specifiers) {
    assert.ok(specifier.startsWith('node:') || specifier === 'msgpackr' || specifier === './word-count-savepoint.ts', `unexpected import ${specifier}`)
  }
  const reader = source.slice(source.indexOf('// ===== reader: begin'), source.indexOf('// ===== reader: end'))
  assert.ok(reader.length > 1000, 'the reader section is found')
  assert.doesNotMatch(reader, /wordCountSavepoint|WordCountSavepoint|\bsrc\//)
})
