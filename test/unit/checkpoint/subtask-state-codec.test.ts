import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { OperatorSubtaskState } from '../../../src/checkpoint/operator-subtask-state.ts'
import { decodeSubtaskState, encodeSubtaskState, summarizeSubtaskState, SUBTASK_STATE_FORMAT_VERSION } from '../../../src/checkpoint/subtask-state-codec.ts'
import { WeirError } from '../../../src/errors.ts'
import { keyGroupRangeForSubtask } from '../../../src/state/key-groups.ts'
import { comparable, makeSubtaskState, MAX_PARALLELISM, readBack } from './fixtures.ts'

function isCode(code: string, ...inMessage: string[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof WeirError, `expected a WeirError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    for (const text of inMessage) assert.ok(error.message.includes(text), `'${error.message}' should mention '${text}'`)
    return true
  }
}

describe('subtask state codec', () => {
  it('round-trips a real snapshot byte for byte, key-group maps included', () => {
    const state = makeSubtaskState()
    assert.ok(state.keyed!.keyGroups.size > 10 && state.timers!.keyGroups.size > 10, 'the fixture fills many key groups')
    const decoded = decodeSubtaskState(encodeSubtaskState(state), 'test.state')
    assert.ok(decoded.keyed!.keyGroups instanceof Map && decoded.timers!.keyGroups instanceof Map)
    assert.deepEqual(comparable(decoded), comparable(state))
  })

  it('restores the same content from decoded state as from the original snapshot', () => {
    const state = makeSubtaskState()
    const decoded = decodeSubtaskState(encodeSubtaskState(state), 'test.state')
    const content = readBack([decoded])
    assert.deepEqual(content, readBack([state]))
    assert.equal(Object.keys(content.counts).length, 60)
    assert.deepEqual(content.seen['key-7'], ['a7', 'b7'])
    assert.deepEqual(content.attrs['key-9'], { 'attr-9': { n: 9 } })
    assert.deepEqual(content.rules, { r1: 'deny' })
  })

  it('encodes an operator without keyed state or timers', () => {
    const state: OperatorSubtaskState = { keyed: undefined, timers: undefined, operator: { states: [] } }
    assert.deepEqual(decodeSubtaskState(encodeSubtaskState(state), 'x'), state)
  })

  it('round-trips the in-flight channel state of an unaligned checkpoint', () => {
    const state: OperatorSubtaskState = {
      ...makeSubtaskState(),
      channels: {
        inputs: [{ channel: 1, batches: [Uint8Array.of(1, 2, 3)] }],
        outputs: [{ writer: 0, channel: 2, batches: [Uint8Array.of(4), Uint8Array.of(5, 6)] }],
      },
    }
    const decoded = decodeSubtaskState(encodeSubtaskState(state), 'x')
    assert.deepEqual(comparable(decoded), comparable(state))
    assert.equal('channels' in decodeSubtaskState(encodeSubtaskState(makeSubtaskState()), 'x'), false)
  })

  it('is deterministic', () => {
    const state = makeSubtaskState()
    assert.deepEqual(encodeSubtaskState(state), encodeSubtaskState(state))
  })

  it('decodes only the key groups of a range, and restoring at another parallelism gives each subtask its keys', () => {
    const old = [0, 1].map((i) => makeSubtaskState(i, 2))
    const files = old.map((s) => encodeSubtaskState(s))
    const full = readBack(old)
    const merged: Record<string, number> = {}
    for (let index = 0; index < 3; index++) {
      const range = keyGroupRangeForSubtask(MAX_PARALLELISM, 3, index)
      const partial = files.map((bytes, i) => decodeSubtaskState(bytes, `old-${i}.state`, range))
      for (const s of partial) {
        for (const group of [...s.keyed!.keyGroups.keys(), ...s.timers!.keyGroups.keys()]) assert.ok(range.contains(group), `group ${group} is outside ${range}`)
      }
      const content = readBack(partial, index, 3)
      assert.deepEqual(content, readBack(old, index, 3))
      Object.assign(merged, content.counts)
    }
    assert.deepEqual(merged, full.counts)
  })

  it('copies the blobs of a partial decode so the file bytes can be freed', () => {
    const bytes = encodeSubtaskState(makeSubtaskState())
    const partial = decodeSubtaskState(bytes, 'x', { start: 0, end: 63 })
    for (const blob of partial.keyed!.keyGroups.values()) assert.notEqual(blob.buffer, bytes.buffer)
  })

  it('summarizes a file from its header', () => {
    const state = makeSubtaskState()
    const summary = summarizeSubtaskState(encodeSubtaskState(state), 'x')
    assert.equal(summary.formatVersion, SUBTASK_STATE_FORMAT_VERSION)
    assert.deepEqual(summary.keyedStates.sort(), ['attrs', 'count', 'seen'])
    assert.deepEqual(summary.keyedKeyGroups, [...state.keyed!.keyGroups.keys()].sort((a, b) => a - b))
  })

  it('reports truncated, foreign and damaged files as corrupt, naming the file', () => {
    const bytes = encodeSubtaskState(makeSubtaskState())
    assert.throws(() => decodeSubtaskState(bytes.subarray(0, bytes.byteLength - 5), 'chk-3/op-0.state'), isCode('CHECKPOINT_CORRUPT', 'chk-3/op-0.state'))
    assert.throws(() => decodeSubtaskState(bytes.subarray(0, 6), 'short.state'), isCode('CHECKPOINT_CORRUPT', 'short.state'))
    assert.throws(() => decodeSubtaskState(new TextEncoder().encode('{"hello": 1}'), 'json.state'), isCode('CHECKPOINT_CORRUPT', 'marker'))
    const badHeader = bytes.slice()
    badHeader[12] ^= 0xff
    badHeader[13] ^= 0xff
    assert.throws(() => decodeSubtaskState(badHeader, 'h.state'), isCode('CHECKPOINT_CORRUPT', 'h.state'))
  })

  it('refuses a newer format version', () => {
    const bytes = encodeSubtaskState(makeSubtaskState()).slice()
    new DataView(bytes.buffer).setUint16(4, SUBTASK_STATE_FORMAT_VERSION + 1)
    assert.throws(() => decodeSubtaskState(bytes, 'new.state'), isCode('SNAPSHOT_FORMAT_UNSUPPORTED', 'new.state', `version ${SUBTASK_STATE_FORMAT_VERSION + 1}`))
  })
})
