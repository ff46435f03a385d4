import { internalPackr } from '../api/serialization/types.ts'
import { WeirError } from '../errors.ts'
import type { KeyedStateMetaInfo, KeyedStateSnapshot, OperatorStateSnapshot } from '../state/snapshot.ts'
import type { TimersSnapshot } from '../time/timer-service.ts'
import type { ChannelState, OperatorSubtaskState } from './operator-subtask-state.ts'

/**
 * The file format of one operator subtask's state:
 *
 * ```
 * 0   4 bytes  magic "WSST"
 * 4   u16 BE   format version
 * 6   u32 BE   header length H
 * 10  H bytes  header (msgpack, see `Header`)
 * 10+H         data: operator state (msgpack), in-flight channel state if any (msgpack), then keyed
 *              key-group blobs, then timer key-group blobs
 * ```
 *
 * Offsets in the header are relative to the start of the data, and the header comes first, so a
 * reader can parse it and then take only the key groups of its range: a restore at another
 * parallelism never decodes (or copies) the groups of other subtasks.
 */

/** Current version of the subtask state file format. */
export const SUBTASK_STATE_FORMAT_VERSION = 1

const MAGIC = [0x57, 0x53, 0x53, 0x54] // "WSST"
const PREFIX_LENGTH = 10

/** `[keyGroup, offset, length]` triples, flattened: compact in msgpack, cheap to scan. */
type FlatIndex = number[]

interface Header {
  keyed: { maxParallelism: number; keyGroupRange: { start: number; end: number }; states: KeyedStateMetaInfo[] } | null
  keyedIndex: FlatIndex
  timers: { maxParallelism: number; services: { name: string; namespaceSerializer: string }[] } | null
  timerIndex: FlatIndex
  /** `[offset, length]` of the msgpack-encoded operator state. */
  operator: [number, number]
  /** `[offset, length]` of the msgpack-encoded channel state of an unaligned checkpoint, if any. */
  channels: [number, number] | null
  dataLength: number
}

/** Which key groups a decode should keep: an inclusive range (a `KeyGroupRange` fits). */
export interface KeyGroupSelection {
  readonly start: number
  readonly end: number
}

/** Encodes one operator subtask's state into the bytes of its state file. */
export function encodeSubtaskState(state: OperatorSubtaskState): Uint8Array {
  const blobs: Uint8Array[] = []
  let dataLength = 0
  const append = (bytes: Uint8Array): [number, number] => {
    const at = dataLength
    blobs.push(bytes)
    dataLength += bytes.byteLength
    return [at, bytes.byteLength]
  }
  const operator = append(internalPackr.pack(state.operator))
  const channels = state.channels ? append(internalPackr.pack(state.channels)) : null
  const indexOf = (groups: Map<number, Uint8Array> | undefined): FlatIndex => {
    const index: FlatIndex = []
    if (!groups) return index
    // Ascending order makes files deterministic and lets a reader stop early.
    for (const group of [...groups.keys()].sort((a, b) => a - b)) {
      const [offset, length] = append(groups.get(group)!)
      index.push(group, offset, length)
    }
    return index
  }
  const keyedIndex = indexOf(state.keyed?.keyGroups)
  const timerIndex = indexOf(state.timers?.keyGroups)
  const { keyed, timers } = state
  const header: Header = {
    keyed: keyed ? { maxParallelism: keyed.maxParallelism, keyGroupRange: { start: keyed.keyGroupRange.start, end: keyed.keyGroupRange.end }, states: keyed.states } : null,
    keyedIndex,
    timers: timers ? { maxParallelism: timers.maxParallelism, services: timers.services } : null,
    timerIndex,
    operator,
    channels,
    dataLength,
  }
  const headerBytes = internalPackr.pack(header)
  const out = new Uint8Array(PREFIX_LENGTH + headerBytes.byteLength + dataLength)
  out.set(MAGIC, 0)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint16(4, SUBTASK_STATE_FORMAT_VERSION)
  view.setUint32(6, headerBytes.byteLength)
  out.set(headerBytes, PREFIX_LENGTH)
  let at = PREFIX_LENGTH + headerBytes.byteLength
  for (const blob of blobs) {
    out.set(blob, at)
    at += blob.byteLength
  }
  return out
}

/**
 * Decodes a state file. With `keyGroups`, only the keyed state and timers of those key groups are
 * taken, copied out so the rest of the file can be freed; the keyed metadata still describes the
 * whole snapshot. `source` names the file in error messages.
 */
export function decodeSubtaskState(bytes: Uint8Array, source: string, keyGroups?: KeyGroupSelection): OperatorSubtaskState {
  const { header, dataStart } = readHeader(bytes, source)
  const data = bytes.subarray(dataStart)
  const blob = (offset: number, length: number): Uint8Array => (keyGroups ? data.slice(offset, offset + length) : data.subarray(offset, offset + length))
  const groupsOf = (index: FlatIndex): Map<number, Uint8Array> => {
    const groups = new Map<number, Uint8Array>()
    for (let i = 0; i < index.length; i += 3) {
      const group = index[i]
      if (keyGroups && (group < keyGroups.start || group > keyGroups.end)) continue
      groups.set(group, blob(index[i + 1], index[i + 2]))
    }
    return groups
  }
  let operator: OperatorStateSnapshot
  try {
    operator = internalPackr.unpack(data.subarray(header.operator[0], header.operator[0] + header.operator[1])) as OperatorStateSnapshot
  } catch (error) {
    throw corrupt(source, 'its operator state cannot be decoded', error)
  }
  if (!operator || !Array.isArray(operator.states)) throw corrupt(source, 'its operator state is not a list of states')
  let channels: ChannelState | undefined
  if (header.channels) {
    try {
      channels = internalPackr.unpack(data.subarray(header.channels[0], header.channels[0] + header.channels[1])) as ChannelState
    } catch (error) {
      throw corrupt(source, 'its channel state cannot be decoded', error)
    }
  }
  const keyed: KeyedStateSnapshot | undefined = header.keyed
    ? { maxParallelism: header.keyed.maxParallelism, keyGroupRange: header.keyed.keyGroupRange, states: header.keyed.states, keyGroups: groupsOf(header.keyedIndex) }
    : undefined
  const timers: TimersSnapshot | undefined = header.timers
    ? { maxParallelism: header.timers.maxParallelism, services: header.timers.services, keyGroups: groupsOf(header.timerIndex) }
    : undefined
  return channels ? { keyed, operator, timers, channels } : { keyed, operator, timers }
}

/** What a state file holds, without decoding any state: for tools and tests. */
export interface SubtaskStateSummary {
  formatVersion: number
  keyedStates: string[]
  keyedKeyGroups: number[]
  timerKeyGroups: number[]
  operatorStateBytes: number
}

/** Reads only the header of a state file. */
export function summarizeSubtaskState(bytes: Uint8Array, source: string): SubtaskStateSummary {
  const { header, version } = readHeader(bytes, source)
  const groups = (index: FlatIndex): number[] => index.filter((_, i) => i % 3 === 0)
  return {
    formatVersion: version,
    keyedStates: header.keyed?.states.map((s) => s.name) ?? [],
    keyedKeyGroups: groups(header.keyedIndex),
    timerKeyGroups: groups(header.timerIndex),
    operatorStateBytes: header.operator[1],
  }
}

function readHeader(bytes: Uint8Array, source: string): { header: Header; dataStart: number; version: number } {
  if (bytes.byteLength < PREFIX_LENGTH || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw corrupt(source, 'it does not start with the Weir state file marker (truncated, or not a state file)')
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint16(4)
  if (version > SUBTASK_STATE_FORMAT_VERSION || version < 1) {
    throw new WeirError(
      'SNAPSHOT_FORMAT_UNSUPPORTED',
      `State file ${source} has format version ${version}; this version of Weir reads versions 1 to ${SUBTASK_STATE_FORMAT_VERSION}`,
    )
  }
  const headerLength = view.getUint32(6)
  const dataStart = PREFIX_LENGTH + headerLength
  if (dataStart > bytes.byteLength) throw corrupt(source, `its header claims ${headerLength} bytes but the file has ${bytes.byteLength}`)
  let header: Header
  try {
    header = internalPackr.unpack(bytes.subarray(PREFIX_LENGTH, dataStart)) as Header
  } catch (error) {
    throw corrupt(source, 'its header cannot be decoded', error)
  }
  checkHeader(header, bytes.byteLength - dataStart, source)
  return { header, dataStart, version }
}

/** Every offset is checked once here, so decoding never reads past the file or mixes up blobs. */
function checkHeader(header: Header, available: number, source: string): void {
  if (typeof header !== 'object' || header === null || !Array.isArray(header.keyedIndex) || !Array.isArray(header.timerIndex) || !Array.isArray(header.operator)) {
    throw corrupt(source, 'its header is not a state file header')
  }
  if (header.dataLength !== available) throw corrupt(source, `its header records ${header.dataLength} bytes of data, the file holds ${available}`)
  const inBounds = (offset: number, length: number): boolean => Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= available
  if (!inBounds(header.operator[0], header.operator[1])) throw corrupt(source, 'its operator state lies outside the file')
  if (header.channels !== null && header.channels !== undefined && (!Array.isArray(header.channels) || !inBounds(header.channels[0], header.channels[1]))) {
    throw corrupt(source, 'its channel state lies outside the file')
  }
  for (const [name, index] of [['keyed state', header.keyedIndex], ['timers', header.timerIndex]] as const) {
    if (index.length % 3 !== 0) throw corrupt(source, `its ${name} index is malformed`)
    for (let i = 0; i < index.length; i += 3) {
      if (!inBounds(index[i + 1], index[i + 2])) throw corrupt(source, `key group ${index[i]} of its ${name} lies outside the file`)
    }
  }
}

function corrupt(source: string, what: string, cause?: unknown): WeirError {
  const detail = cause instanceof Error ? `: ${cause.message}` : ''
  return new WeirError('CHECKPOINT_CORRUPT', `State file ${source} is corrupt: ${what}${detail}`, cause === undefined ? undefined : { cause })
}
