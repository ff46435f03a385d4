import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { SnapshotMetadata } from '../../../src/checkpoint/checkpoint-storage.ts'
import { decodeMetadata, encodeMetadata, SNAPSHOT_FORMAT_VERSION } from '../../../src/checkpoint/metadata-codec.ts'
import { WeirError } from '../../../src/errors.ts'
import { sampleMetadata } from './fixtures.ts'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const bytesOf = (s: string): Uint8Array => new TextEncoder().encode(s)

function isCode(code: string, ...inMessage: string[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof WeirError, `expected a WeirError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    for (const part of inMessage) assert.ok(error.message.includes(part), `'${error.message}' should mention '${part}'`)
    return true
  }
}

describe('metadata codec', () => {
  it('round-trips metadata, a subtask without state included', () => {
    const metadata = sampleMetadata()
    const decoded = decodeMetadata(encodeMetadata(metadata), '/x/_metadata')
    assert.deepEqual(decoded, metadata)
    assert.equal(decoded.operators[1].subtasks[1], undefined)
  })

  it('writes readable JSON with the format version and a checksum', () => {
    const document = JSON.parse(text(encodeMetadata(sampleMetadata()))) as Record<string, unknown>
    assert.equal(document.format, 'weir-snapshot-metadata')
    assert.equal(document.formatVersion, SNAPSHOT_FORMAT_VERSION)
    assert.match(String(document.sha256), /^[0-9a-f]{64}$/)
    assert.equal((document.metadata as SnapshotMetadata).jobName, 'word count')
  })

  it('accepts the file re-indented, since the checksum covers content, not layout', () => {
    const document: unknown = JSON.parse(text(encodeMetadata(sampleMetadata())))
    assert.deepEqual(decodeMetadata(bytesOf(JSON.stringify(document, null, 4)), 'm'), sampleMetadata())
  })

  it('verifies metadata whose objects have integer-like keys, which JSON.parse reorders', () => {
    const metadata = { ...sampleMetadata(), extra: { b: 1, '10': 2 } } as unknown as SnapshotMetadata
    const decoded = decodeMetadata(encodeMetadata(metadata), 'm') as unknown as { extra: unknown }
    assert.deepEqual(decoded.extra, { b: 1, '10': 2 })
  })

  it('reports a changed value as a checksum mismatch naming the file', () => {
    const original = text(encodeMetadata(sampleMetadata()))
    const edited = original.replace('"size": 120', '"size": 121')
    assert.notEqual(edited, original)
    assert.throws(() => decodeMetadata(bytesOf(edited), '/ck/job/chk-7/_metadata'), isCode('CHECKPOINT_CORRUPT', '/ck/job/chk-7/_metadata', 'SHA-256'))
  })

  it('reports truncated or non-JSON files as corrupt', () => {
    const bytes = encodeMetadata(sampleMetadata())
    assert.throws(() => decodeMetadata(bytes.subarray(0, bytes.byteLength - 10), 'chk-7/_metadata'), isCode('CHECKPOINT_CORRUPT', 'chk-7/_metadata', 'not valid JSON'))
    assert.throws(() => decodeMetadata(bytesOf('[1, 2]'), 'm'), isCode('CHECKPOINT_CORRUPT', 'not a Weir snapshot metadata file'))
    assert.throws(() => decodeMetadata(Uint8Array.of(0xff, 0xfe, 0x00), 'm'), isCode('CHECKPOINT_CORRUPT'))
  })

  it('refuses a newer format version with its own code', () => {
    const newer = text(encodeMetadata(sampleMetadata())).replace(`"formatVersion": ${SNAPSHOT_FORMAT_VERSION},`, `"formatVersion": ${SNAPSHOT_FORMAT_VERSION + 1},`)
    assert.throws(() => decodeMetadata(bytesOf(newer), 'sp/_metadata'), isCode('SNAPSHOT_FORMAT_UNSUPPORTED', 'sp/_metadata', `version ${SNAPSHOT_FORMAT_VERSION + 1}`))
  })

  it('refuses metadata whose own formatVersion is newer', () => {
    const metadata = { ...sampleMetadata(), formatVersion: SNAPSHOT_FORMAT_VERSION + 5 }
    assert.throws(() => decodeMetadata(encodeMetadata(metadata), 'm'), isCode('SNAPSHOT_FORMAT_UNSUPPORTED'))
  })

  it('reports missing fields, even with a matching checksum', () => {
    const broken = { ...sampleMetadata(), checkpointId: 'seven' } as unknown as SnapshotMetadata
    assert.throws(() => decodeMetadata(encodeMetadata(broken), 'm'), isCode('CHECKPOINT_CORRUPT', 'checkpointId'))
  })
})
