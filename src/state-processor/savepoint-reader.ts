import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { SerializerSnapshot, TypeSerializer } from '../api/serialization/type-serializer.ts'
import { internalPackr } from '../api/serialization/types.ts'
import type { CompletedSnapshotHandle, SnapshotMetadata, StateFileHandle } from '../checkpoint/checkpoint-storage.ts'
import { openSnapshot, readSnapshotSubtaskState } from '../checkpoint/filesystem-checkpoint-storage.ts'
import type { OperatorSubtaskState } from '../checkpoint/operator-subtask-state.ts'
import { checkRelativeStatePath, describeStateFile, verifyStateFile } from '../checkpoint/state-files.ts'
import { decodeSubtaskState, summarizeSubtaskState } from '../checkpoint/subtask-state-codec.ts'
import { WeirError } from '../errors.ts'
import { corruptPayload, decodeKeyGroup, isBytesAndTime, isMapPayloadEntry } from '../state/heap/snapshot-codec.ts'
import { deserializeKey, type Key } from '../state/key-serialization.ts'
import type { KeyedStateMetaInfo, OperatorListMode, OperatorStateEntry } from '../state/snapshot.ts'
import { builtinSerializer, readerFor } from './builtin-serializers.ts'

/** One subtask's state file of an operator in a savepoint. */
export interface SavepointSubtaskFile {
  subtask: number
  /** Path relative to the savepoint directory. */
  path: string
  size: number
  sha256: string
  /** Version of the state file format (the `u16` after the magic). */
  formatVersion: number
  /** The key groups the subtask owned; undefined for an operator without keyed state. */
  keyGroupRange: { start: number; end: number } | undefined
  /** Key groups with keyed state in this file, and the bytes of their blobs. */
  keyedKeyGroups: number
  keyedBytes: number
  /** Key groups with timers in this file, and the bytes of their blobs. */
  timerKeyGroups: number
  timerBytes: number
}

/** An operator state as the savepoint records it. */
export type SavepointOperatorState =
  | { name: string; kind: 'list'; mode: OperatorListMode; serializer: SerializerSnapshot }
  | { name: string; kind: 'broadcast'; keySerializer: SerializerSnapshot; valueSerializer: SerializerSnapshot }

/** One operator of a savepoint: where its state is and what states it holds. */
export interface SavepointOperator {
  uid: string
  name: string
  parallelism: number
  maxParallelism: number
  /** One entry per subtask that wrote state. */
  files: SavepointSubtaskFile[]
  /** Keyed states with their kinds and the serializers that wrote them. */
  keyedStates: KeyedStateMetaInfo[]
  /** Operator (non-keyed) states: list, union list and broadcast. */
  operatorStates: SavepointOperatorState[]
  /** Timer services, with the id of their namespace serializer. */
  timerServices: { name: string; namespaceSerializer: string }[]
}

/** One (key, namespace) of a keyed state. */
export interface KeyedStateEntry<K = Key, V = unknown, N = unknown> {
  key: K
  /** Undefined for state outside windows (the void namespace). */
  namespace: N | undefined
  /** The value; for list state the elements, for map state a `Map` of its entries. */
  value: V
  keyGroup: number
}

/** Serializers to read a keyed state with; each defaults to the built-in serializer the savepoint names. */
export interface ReadKeyedStateOptions<V = unknown, UK = unknown, N = unknown> {
  /** Value, element or accumulator serializer; for map state the user-value serializer. */
  valueSerializer?: TypeSerializer<V>
  /** User-key serializer of map state. */
  mapKeySerializer?: TypeSerializer<UK>
  namespaceSerializer?: TypeSerializer<N>
}

/** One timer of a keyed operator. */
export interface TimerEntry {
  service: string
  domain: 'event-time' | 'processing-time'
  timestamp: number
  key: Key
  /** Undefined in the void namespace, or when the namespace serializer is not built in (see `namespaceBytes`). */
  namespace: unknown
  namespaceBytes: Uint8Array
}

/** Size of one keyed state within one subtask file. */
export interface KeyedStateRangeStatistics {
  subtask: number
  keyGroupRange: { start: number; end: number }
  /** Key groups of the range holding this state. */
  keyGroups: number
  keys: number
  entries: number
  bytes: number
}

/**
 * How big one keyed state is: distinct keys, (key, namespace) entries, and bytes (key, namespace and
 * value bytes of its entries, without the framing around them), in total and per subtask file.
 */
export interface KeyedStateStatistics {
  meta: KeyedStateMetaInfo
  keys: number
  entries: number
  bytes: number
  ranges: KeyedStateRangeStatistics[]
}

/** How big one operator state is. */
export interface OperatorStateStatistics {
  state: SavepointOperatorState
  /** Elements (list) or entries (broadcast, one copy). */
  items: number
  bytes: number
}

/** What `statistics` finds in an operator's state. */
export interface OperatorStatistics {
  keyedStates: KeyedStateStatistics[]
  operatorStates: OperatorStateStatistics[]
  timers: number
}

/**
 * Opens a savepoint (or a retained checkpoint) for reading, as Flink's `SavepointReader`: lists its
 * operators and their states, and reads keyed, operator and broadcast state as values. Every state
 * file is read once here (checksums verified) to list the states; the read methods read the files
 * again one at a time, so memory holds one file at most.
 */
export async function readSavepoint(path: string): Promise<SavepointReader> {
  const handle = await openSnapshot(path)
  const operators: SavepointOperator[] = []
  for (const op of handle.metadata.operators) {
    const operator: SavepointOperator = {
      uid: op.uid,
      name: op.name,
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      files: [],
      keyedStates: [],
      operatorStates: [],
      timerServices: [],
    }
    for (const [subtask, file] of op.subtasks.entries()) {
      if (file === undefined) continue
      const { state, formatVersion } = await loadStateFile(handle, file)
      operator.files.push(describeFile(subtask, file, state, formatVersion))
      for (const meta of state.keyed?.states ?? []) if (!operator.keyedStates.some((s) => s.name === meta.name)) operator.keyedStates.push(meta)
      for (const service of state.timers?.services ?? []) if (!operator.timerServices.some((s) => s.name === service.name)) operator.timerServices.push(service)
      for (const entry of state.operator.states) if (!operator.operatorStates.some((s) => s.name === entry.name)) operator.operatorStates.push(operatorStateInfo(entry))
    }
    operators.push(operator)
  }
  return new SavepointReader(handle, operators)
}

/** A savepoint opened by `readSavepoint`. */
export class SavepointReader {
  constructor(
    /** The snapshot as storage knows it (its directory is `pointer`). */
    readonly handle: CompletedSnapshotHandle,
    /** Every operator of the savepoint's job, in the order of its metadata. */
    readonly operators: readonly SavepointOperator[],
  ) {}

  /** The savepoint's `_metadata`. */
  get metadata(): SnapshotMetadata {
    return this.handle.metadata
  }

  /** The operator with this uid; throws `WeirError` 'SAVEPOINT_NO_SUCH_OPERATOR' naming the uids there are. */
  operator(uid: string): SavepointOperator {
    const found = this.operators.find((o) => o.uid === uid)
    if (found === undefined) {
      throw new WeirError('SAVEPOINT_NO_SUCH_OPERATOR', `Savepoint ${this.handle.pointer} has no operator with uid '${uid}'; it has ${this.operators.map((o) => `'${o.uid}'`).join(', ') || 'none'}`)
    }
    return found
  }

  /**
   * Every (key, namespace) of a keyed state with its value, key group by key group. Keys are read
   * with the canonical key encoding; values with the given serializers, else with the built-in
   * serializer the savepoint names (a custom serializer must be given). A given serializer of a
   * newer version migrates old bytes as a restore would. Values are given as stored, TTL or not.
   */
  async *readKeyedState<K = Key, V = unknown, N = unknown>(uid: string, stateName: string, options: ReadKeyedStateOptions<unknown, unknown, N> = {}): AsyncIterable<KeyedStateEntry<K, V, N>> {
    const operator = this.operator(uid)
    const meta = operator.keyedStates.find((s) => s.name === stateName)
    if (meta === undefined) throw this.noSuchState(operator, stateName, 'keyed', operator.keyedStates.map((s) => s.name))
    const what = `State '${stateName}' of operator '${uid}'`
    const readValue = readerFor(what, meta.kind === 'list' ? 'element' : meta.kind === 'map' ? 'map value' : 'value', meta.valueSerializer, options.valueSerializer, 'valueSerializer')
    const readMapKey = meta.mapKeySerializer === undefined ? undefined : readerFor(what, 'map key', meta.mapKeySerializer, options.mapKeySerializer, 'mapKeySerializer')
    const readNamespace: (bytes: Uint8Array) => N | undefined =
      meta.namespaceSerializer.id === 'void' && options.namespaceSerializer === undefined
        ? () => undefined
        : readerFor(what, 'namespace', meta.namespaceSerializer, options.namespaceSerializer, 'namespaceSerializer')
    const decode = payloadDecoder(stateName, meta.kind, readValue, readMapKey)
    for (const state of this.subtaskStates(operator)) {
      const keyed = (await state).keyed
      if (keyed === undefined) continue
      const index = keyed.states.findIndex((s) => s.name === stateName)
      if (index < 0) continue
      for (const group of [...keyed.keyGroups.keys()].sort((a, b) => a - b)) {
        for (const [stateIndex, entries] of decodeKeyGroup(keyed.keyGroups.get(group)!, group, keyed.states.length)) {
          if (stateIndex !== index) continue
          for (const [keyBytes, namespaceBytes, payload] of entries) {
            yield { key: deserializeKey(keyBytes) as K, namespace: readNamespace(namespaceBytes), value: decode(payload) as V, keyGroup: group }
          }
        }
      }
    }
  }

  /**
   * The elements of an operator list state (split or union), subtask by subtask: together the list
   * a job restoring this savepoint redistributes.
   */
  async *readOperatorState<T = unknown>(uid: string, stateName: string, options: { serializer?: TypeSerializer<T> } = {}): AsyncIterable<T> {
    const operator = this.operator(uid)
    const info = this.operatorStateInfo(operator, stateName, 'list')
    const read = readerFor(`Operator state '${stateName}' of operator '${uid}'`, 'element', info.serializer, options.serializer, 'serializer')
    for (const state of this.subtaskStates(operator)) {
      const entry = (await state).operator.states.find((s) => s.name === stateName)
      if (entry?.kind === 'list') for (const element of entry.elements) yield read(element)
    }
  }

  /** The entries of a broadcast state (every subtask holds the same map; one copy is stored). */
  async *readBroadcastState<K = unknown, V = unknown>(uid: string, stateName: string, options: { keySerializer?: TypeSerializer<K>; valueSerializer?: TypeSerializer<V> } = {}): AsyncIterable<[K, V]> {
    const operator = this.operator(uid)
    const info = this.operatorStateInfo(operator, stateName, 'broadcast')
    const what = `Broadcast state '${stateName}' of operator '${uid}'`
    const readKey = readerFor(what, 'key', info.keySerializer, options.keySerializer, 'keySerializer')
    const readValue = readerFor(what, 'value', info.valueSerializer, options.valueSerializer, 'valueSerializer')
    for (const state of this.subtaskStates(operator)) {
      const entry = (await state).operator.states.find((s) => s.name === stateName)
      if (entry?.kind !== 'broadcast') continue
      for (const [keyBytes, valueBytes] of entry.entries) yield [readKey(keyBytes), readValue(valueBytes)]
      return
    }
  }

  /** Every timer of a keyed operator; namespaces are decoded when their serializer is built in. */
  async *readTimers(uid: string): AsyncIterable<TimerEntry> {
    const operator = this.operator(uid)
    for (const state of this.subtaskStates(operator)) {
      const timers = (await state).timers
      if (timers === undefined) continue
      for (const group of [...timers.keyGroups.keys()].sort((a, b) => a - b)) {
        for (const [index, domain, timestamp, keyBytes, namespaceBytes] of decodeTimerGroup(timers.keyGroups.get(group)!, group)) {
          const service = timers.services[index]
          const serializer = service === undefined ? undefined : builtinSerializer(service.namespaceSerializer)
          yield {
            service: service?.name ?? `#${index}`,
            domain: domain === 0 ? 'event-time' : 'processing-time',
            timestamp,
            key: deserializeKey(keyBytes),
            namespace: serializer === undefined || service?.namespaceSerializer === 'void' ? undefined : serializer.deserialize(namespaceBytes),
            namespaceBytes,
          }
        }
      }
    }
  }

  /** Counts keys, entries, elements, timers and bytes of an operator's states; reads every key group. */
  async statistics(uid: string): Promise<OperatorStatistics> {
    const operator = this.operator(uid)
    const keyed = new Map<string, KeyedStateStatistics>(operator.keyedStates.map((meta) => [meta.name, { meta, keys: 0, entries: 0, bytes: 0, ranges: [] }]))
    const operatorStates = new Map<string, OperatorStateStatistics>(operator.operatorStates.map((state) => [state.name, { state, items: 0, bytes: 0 }]))
    let timers = 0
    const files = operator.files.values()
    for (const load of this.subtaskStates(operator)) {
      const state = await load
      const file = files.next().value as SavepointSubtaskFile
      if (state.keyed !== undefined) {
        const ranges = state.keyed.states.map((meta) => ({ meta, range: { subtask: file.subtask, keyGroupRange: { ...state.keyed!.keyGroupRange }, keyGroups: 0, keys: 0, entries: 0, bytes: 0 } }))
        for (const [group, bytes] of state.keyed.keyGroups) {
          for (const [stateIndex, entries] of decodeKeyGroup(bytes, group, ranges.length)) {
            const { meta, range } = ranges[stateIndex]
            const keys = new Set<string>()
            range.keyGroups++
            range.entries += entries.length
            for (const [keyBytes, namespaceBytes, payload] of entries) {
              keys.add(Buffer.from(keyBytes.buffer, keyBytes.byteOffset, keyBytes.byteLength).toString('latin1'))
              range.bytes += keyBytes.byteLength + namespaceBytes.byteLength + payloadBytes(meta.kind, payload)
            }
            range.keys += keys.size
          }
        }
        for (const { meta, range } of ranges) {
          const total = keyed.get(meta.name)
          if (total === undefined) continue
          total.ranges.push(range)
          total.keys += range.keys
          total.entries += range.entries
          total.bytes += range.bytes
        }
      }
      for (const entry of state.operator.states) {
        const total = operatorStates.get(entry.name)
        if (total === undefined) continue
        if (entry.kind === 'list') {
          total.items += entry.elements.length
          for (const element of entry.elements) total.bytes += element.byteLength
        } else if (total.items === 0) {
          total.items = entry.entries.length
          for (const [k, v] of entry.entries) total.bytes += k.byteLength + v.byteLength
        }
      }
      if (state.timers !== undefined) for (const [group, bytes] of state.timers.keyGroups) timers += decodeTimerGroup(bytes, group).length
    }
    return { keyedStates: [...keyed.values()], operatorStates: [...operatorStates.values()], timers }
  }

  /** The decoded state files of an operator, in subtask order, each read only when its turn comes. */
  private *subtaskStates(operator: SavepointOperator): Generator<Promise<OperatorSubtaskState>> {
    for (const file of operator.files) {
      const handle: StateFileHandle = { path: file.path, size: file.size, sha256: file.sha256 }
      yield readSnapshotSubtaskState(this.handle, handle)
    }
  }

  private operatorStateInfo<K extends SavepointOperatorState['kind']>(operator: SavepointOperator, stateName: string, kind: K): Extract<SavepointOperatorState, { kind: K }> {
    const info = operator.operatorStates.find((s) => s.name === stateName)
    if (info === undefined) throw this.noSuchState(operator, stateName, 'operator', operator.operatorStates.map((s) => s.name))
    if (info.kind !== kind) {
      throw new WeirError('SAVEPOINT_STATE_KIND', `Operator state '${stateName}' of operator '${operator.uid}' is a ${info.kind} state; read it with ${info.kind === 'list' ? 'readOperatorState' : 'readBroadcastState'}`)
    }
    return info as Extract<SavepointOperatorState, { kind: K }>
  }

  private noSuchState(operator: SavepointOperator, stateName: string, kind: string, names: string[]): WeirError {
    return new WeirError(
      'SAVEPOINT_NO_SUCH_STATE',
      `Operator '${operator.uid}' of savepoint ${this.handle.pointer} has no ${kind} state '${stateName}'; its ${kind} states are ${names.map((n) => `'${n}'`).join(', ') || 'none'}`,
    )
  }
}

/** Reads, verifies and decodes one state file, keeping its format version (which a restore does not need). */
async function loadStateFile(snapshot: CompletedSnapshotHandle, handle: StateFileHandle): Promise<{ state: OperatorSubtaskState; formatVersion: number }> {
  const file = join(snapshot.pointer, checkRelativeStatePath(handle.path, `${snapshot.kind} ${snapshot.checkpointId} in ${snapshot.pointer}`))
  const where = describeStateFile(file, snapshot.checkpointId, snapshot.kind)
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new WeirError('CHECKPOINT_FILE_MISSING', `${where} is missing`)
    throw error
  }
  verifyStateFile(bytes, handle, where)
  return { state: decodeSubtaskState(bytes, file), formatVersion: summarizeSubtaskState(bytes, file).formatVersion }
}

function describeFile(subtask: number, file: StateFileHandle, state: OperatorSubtaskState, formatVersion: number): SavepointSubtaskFile {
  let keyedBytes = 0
  for (const blob of state.keyed?.keyGroups.values() ?? []) keyedBytes += blob.byteLength
  let timerBytes = 0
  for (const blob of state.timers?.keyGroups.values() ?? []) timerBytes += blob.byteLength
  return {
    subtask,
    path: file.path,
    size: file.size,
    sha256: file.sha256,
    formatVersion,
    keyGroupRange: state.keyed === undefined ? undefined : { start: state.keyed.keyGroupRange.start, end: state.keyed.keyGroupRange.end },
    keyedKeyGroups: state.keyed?.keyGroups.size ?? 0,
    keyedBytes,
    timerKeyGroups: state.timers?.keyGroups.size ?? 0,
    timerBytes,
  }
}

function operatorStateInfo(entry: OperatorStateEntry): SavepointOperatorState {
  return entry.kind === 'list'
    ? { name: entry.name, kind: 'list', mode: entry.mode, serializer: entry.serializer }
    : { name: entry.name, kind: 'broadcast', keySerializer: entry.keySerializer, valueSerializer: entry.valueSerializer }
}

/** Turns a stored payload (layouts in state/snapshot.ts) into the value a reader gives out. */
function payloadDecoder(
  stateName: string,
  kind: KeyedStateMetaInfo['kind'],
  readValue: (bytes: Uint8Array) => unknown,
  readMapKey: ((bytes: Uint8Array) => unknown) | undefined,
): (payload: unknown) => unknown {
  switch (kind) {
    case 'value':
    case 'reducing':
    case 'aggregating':
      return (payload) => {
        if (!isBytesAndTime(payload)) throw corruptPayload(stateName, '[valueBytes, expiresAt]')
        return readValue(payload[0])
      }
    case 'list':
      return (payload) => {
        if (!Array.isArray(payload) || !payload.every(isBytesAndTime)) throw corruptPayload(stateName, 'a list of [elementBytes, expiresAt]')
        return payload.map((element) => readValue(element[0]))
      }
    case 'map':
      return (payload) => {
        if (!Array.isArray(payload) || !payload.every(isMapPayloadEntry) || readMapKey === undefined) throw corruptPayload(stateName, 'a list of [userKeyBytes, userValueBytes, expiresAt]')
        return new Map(payload.map((entry) => [readMapKey(entry[0]), readValue(entry[1])]))
      }
  }
}

/** The bytes a payload holds: values, elements, or user keys and values. */
function payloadBytes(kind: KeyedStateMetaInfo['kind'], payload: unknown): number {
  if (!Array.isArray(payload)) return 0
  switch (kind) {
    case 'value':
    case 'reducing':
    case 'aggregating':
      return payload[0] instanceof Uint8Array ? payload[0].byteLength : 0
    case 'list':
      return payload.reduce((n: number, element: unknown) => n + (Array.isArray(element) && element[0] instanceof Uint8Array ? element[0].byteLength : 0), 0)
    case 'map':
      return payload.reduce(
        (n: number, entry: unknown) => n + (Array.isArray(entry) && entry[0] instanceof Uint8Array && entry[1] instanceof Uint8Array ? entry[0].byteLength + entry[1].byteLength : 0),
        0,
      )
  }
}

type TimerRow = [serviceIndex: number, domain: number, timestamp: number, keyBytes: Uint8Array, namespaceBytes: Uint8Array]

function decodeTimerGroup(bytes: Uint8Array, group: number): TimerRow[] {
  let rows: unknown
  try {
    rows = internalPackr.unpack(bytes)
  } catch (cause) {
    throw new WeirError('CHECKPOINT_CORRUPT', `Corrupt timers snapshot: key group ${group} cannot be decoded`, { cause })
  }
  if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r) && r.length === 5 && r[3] instanceof Uint8Array && r[4] instanceof Uint8Array)) {
    throw new WeirError('CHECKPOINT_CORRUPT', `Corrupt timers snapshot: key group ${group} is not a list of [service, domain, timestamp, keyBytes, namespaceBytes]`)
  }
  return rows as TimerRow[]
}
