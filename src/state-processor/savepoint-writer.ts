import { randomUUID } from 'node:crypto'
import { mkdir, open, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { snapshotOf, type TypeSerializer } from '../api/serialization/type-serializer.ts'
import { internalPackr, Types } from '../api/serialization/types.ts'
import type { CompletedSnapshotHandle, OperatorSnapshotMetadata, SnapshotMetadata, StateFileHandle } from '../checkpoint/checkpoint-storage.ts'
import { syncDir, writeAtomically } from '../checkpoint/filesystem-checkpoint-storage.ts'
import { encodeMetadata, SNAPSHOT_FORMAT_VERSION } from '../checkpoint/metadata-codec.ts'
import type { OperatorSubtaskState } from '../checkpoint/operator-subtask-state.ts'
import { METADATA_FILE_NAME, sha256Hex, stateFileName } from '../checkpoint/state-files.ts'
import { encodeSubtaskState } from '../checkpoint/subtask-state-codec.ts'
import { StateError, WeirError } from '../errors.ts'
import type { StateKind } from '../state/descriptors.ts'
import { VOID_NAMESPACE } from '../state/keyed-state-backend.ts'
import { checkParallelism, DEFAULT_MAX_PARALLELISM, keyGroupForKey, keyGroupRangeForSubtask } from '../state/key-groups.ts'
import { serializeKey, type Key } from '../state/key-serialization.ts'
import type { KeyedStateMetaInfo, OperatorListMode, OperatorStateEntry } from '../state/snapshot.ts'
import { voidNamespaceSerializer } from '../state/void-namespace-serializer.ts'

/** Values or iterables of them, sync or async: what bootstrap data may come as. */
export type BootstrapSource<T> = Iterable<T> | AsyncIterable<T>

/** One (key, namespace) of a keyed state to write; without `namespace` it is the void namespace. */
export interface BootstrapEntry<V> {
  key: Key
  value: V
  namespace?: unknown
}

interface KeyedStateBootstrapBase {
  /** The state's name, as the job's descriptor names it. */
  name: string
  /** Namespace serializer, for state in windows; the void namespace by default. */
  namespaceSerializer?: TypeSerializer<unknown>
}

/** A value, reducing or aggregating (accumulator) state: one value per key. */
export interface SingleValueStateBootstrap<V = unknown> extends KeyedStateBootstrapBase {
  kind: 'value' | 'reducing' | 'aggregating'
  entries: BootstrapSource<BootstrapEntry<V>>
  /** Default: msgpack, the default of state descriptors. Must be the job's serializer (or one it can migrate from). */
  serializer?: TypeSerializer<V>
}

/** A list state: the elements per key. */
export interface ListStateBootstrap<T = unknown> extends KeyedStateBootstrapBase {
  kind: 'list'
  entries: BootstrapSource<BootstrapEntry<Iterable<T>>>
  /** Element serializer; default msgpack. */
  serializer?: TypeSerializer<T>
}

/** A map state: a map per key, as a `Map`, `[key, value]` pairs or a plain object. */
export interface MapStateBootstrap<UK = unknown, UV = unknown> extends KeyedStateBootstrapBase {
  kind: 'map'
  entries: BootstrapSource<BootstrapEntry<ReadonlyMap<UK, UV> | Iterable<readonly [UK, UV]> | Readonly<Record<string, UV>>>>
  /** User-value serializer; default msgpack. */
  serializer?: TypeSerializer<UV>
  /** User-key serializer; default msgpack. */
  mapKeySerializer?: TypeSerializer<UK>
}

/** One keyed state of an operator to bootstrap. */
export type KeyedStateBootstrap = SingleValueStateBootstrap | ListStateBootstrap | MapStateBootstrap

/** One operator state to bootstrap. */
export type OperatorStateBootstrap =
  | {
      name: string
      kind: 'list'
      /** 'split' (default) deals the elements out to the subtasks; 'union' gives every subtask all of them. */
      mode?: OperatorListMode
      elements: BootstrapSource<unknown>
      serializer?: TypeSerializer<unknown>
    }
  | {
      name: string
      kind: 'broadcast'
      entries: BootstrapSource<readonly [unknown, unknown]>
      keySerializer?: TypeSerializer<unknown>
      valueSerializer?: TypeSerializer<unknown>
    }

/** One operator of a savepoint to write. */
export interface OperatorBootstrap {
  /** Must equal the uid the job gives the operator (`.uid(...)`). */
  uid: string
  name?: string
  /** The subtasks the state is split into; the job may restore at another parallelism. */
  parallelism: number
  /** Default: the savepoint's `maxParallelism`. Must equal the job's. */
  maxParallelism?: number
  keyed?: { states: readonly KeyedStateBootstrap[] }
  operatorState?: { states: readonly OperatorStateBootstrap[] }
}

/** What `writeSavepoint` writes. */
export interface WriteSavepointOptions {
  /** Max parallelism of every operator not setting its own; default 128, as jobs have. */
  maxParallelism?: number
  operators: readonly OperatorBootstrap[]
  /** Recorded in `_metadata`; default 'bootstrap'. */
  jobName?: string
  /** Recorded in `_metadata`; default a random UUID. */
  jobId?: string
  /** A job started from the savepoint numbers its checkpoints after it; default 0. */
  checkpointId?: number
}

type Entry = [keyBytes: Uint8Array, namespaceBytes: Uint8Array, payload: unknown]

/**
 * Writes a new savepoint from data, as Flink's `SavepointWriter` bootstraps state for a new job: the
 * same format a job writes (keys in their key groups, one state file per subtask with checksums,
 * `_metadata` written last and atomically), so `restoreFrom` of a job with the same operator uids
 * starts with this state. The data of one operator is held in memory while its files are written.
 * Refuses a directory that already holds a completed snapshot.
 */
export async function writeSavepoint(directory: string, options: WriteSavepointOptions): Promise<CompletedSnapshotHandle> {
  const dir = resolve(directory)
  const exists = await stat(join(dir, METADATA_FILE_NAME)).then(
    () => true,
    () => false,
  )
  if (exists) throw new WeirError('CHECKPOINT_EXISTS', `${dir} already holds a snapshot (it has ${METADATA_FILE_NAME}); write the savepoint to a new directory`)
  const defaultMax = options.maxParallelism ?? DEFAULT_MAX_PARALLELISM
  const uids = new Set<string>()
  for (const op of options.operators) {
    if (typeof op.uid !== 'string' || op.uid.length === 0) throw new WeirError('INVALID_SAVEPOINT', 'Every operator of a savepoint needs a non-empty uid')
    if (uids.has(op.uid)) throw new WeirError('INVALID_SAVEPOINT', `Operator uid '${op.uid}' appears twice`)
    uids.add(op.uid)
    checkParallelism(op.maxParallelism ?? defaultMax, op.parallelism)
  }
  const checkpointId = options.checkpointId ?? 0
  if (!Number.isInteger(checkpointId) || checkpointId < 0) throw new WeirError('INVALID_SAVEPOINT', `checkpointId must be a non-negative integer, got ${checkpointId}`)
  await mkdir(dir, { recursive: true })

  const operators: OperatorSnapshotMetadata[] = []
  for (const op of options.operators) {
    const maxParallelism = op.maxParallelism ?? defaultMax
    const states = await buildSubtaskStates(op, maxParallelism)
    const subtasks: (StateFileHandle | undefined)[] = []
    for (const [subtask, state] of states.entries()) subtasks.push(state === undefined ? undefined : await writeStateFile(dir, op.uid, subtask, state))
    operators.push({ uid: op.uid, name: op.name ?? op.uid, parallelism: op.parallelism, maxParallelism, subtasks })
  }
  const metadata: SnapshotMetadata = {
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    kind: 'savepoint',
    jobId: options.jobId ?? randomUUID(),
    jobName: options.jobName ?? 'bootstrap',
    checkpointId,
    timestamp: Date.now(),
    operators,
    sourceEnumerators: [],
  }
  // The state files' entries must be durable before the metadata that makes them a savepoint.
  await syncDir(dir)
  await writeAtomically(dir, METADATA_FILE_NAME, encodeMetadata(metadata))
  return { checkpointId, kind: 'savepoint', pointer: dir, metadata }
}

/** The state of each subtask of an operator; undefined where a subtask has none. */
async function buildSubtaskStates(op: OperatorBootstrap, maxParallelism: number): Promise<(OperatorSubtaskState | undefined)[]> {
  const keyedStates = op.keyed?.states ?? []
  checkUniqueNames(op.uid, 'keyed', keyedStates)
  const metas: KeyedStateMetaInfo[] = []
  // Key group -> per state index, its entries.
  const groups = new Map<number, Map<number, Entry[]>>()
  for (const [index, state] of keyedStates.entries()) {
    const encode = payloadEncoder(op.uid, state)
    const namespaceSerializer = state.namespaceSerializer ?? voidNamespaceSerializer
    metas.push(metaOf(state, namespaceSerializer))
    const seen = new Set<string>()
    for await (const entry of state.entries as BootstrapSource<BootstrapEntry<unknown>>) {
      const where = (): string => `State '${state.name}' of operator '${op.uid}'`
      let keyBytes: Uint8Array
      try {
        keyBytes = serializeKey(entry.key)
      } catch (cause) {
        throw new StateError(`${where()}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
      }
      if (entry.namespace !== undefined && state.namespaceSerializer === undefined) {
        throw new StateError(`${where()}: an entry has a namespace, but the state has no namespaceSerializer to write it with`)
      }
      const namespaceBytes = serializeWith(where, 'namespace', namespaceSerializer, entry.namespace === undefined ? VOID_NAMESPACE : entry.namespace)
      const identity = `${latin1(keyBytes)}\u0000${latin1(namespaceBytes)}`
      if (seen.has(identity)) throw new StateError(`${where()}: key ${JSON.stringify(entry.key, bigintText)} is given twice${entry.namespace === undefined ? '' : ' in the same namespace'}`)
      seen.add(identity)
      const payload = encode(entry.value, where)
      if (payload === undefined) continue
      const group = keyGroupForKey(entry.key, maxParallelism)
      let byState = groups.get(group)
      if (byState === undefined) groups.set(group, (byState = new Map()))
      let list = byState.get(index)
      if (list === undefined) byState.set(index, (list = []))
      list.push([keyBytes, namespaceBytes, payload])
    }
  }

  const operatorStates = op.operatorState?.states ?? []
  checkUniqueNames(op.uid, 'operator', operatorStates)
  const perSubtask: OperatorStateEntry[][] = Array.from({ length: op.parallelism }, () => [])
  for (const state of operatorStates) {
    const where = (): string => `Operator state '${state.name}' of operator '${op.uid}'`
    if (state.kind === 'list') {
      const serializer = state.serializer ?? Types.default<unknown>()
      const mode = state.mode ?? 'split'
      if (mode !== 'split' && mode !== 'union') throw new StateError(`${where()}: mode must be 'split' or 'union', got ${String(mode)}`)
      const shares: Uint8Array[][] = Array.from({ length: op.parallelism }, () => [])
      let i = 0
      for await (const element of state.elements) {
        if (element === undefined) throw new StateError(`${where()}: element ${i} is undefined, which a list state cannot hold`)
        // A union list is restored whole into every subtask, so one copy is enough.
        shares[mode === 'split' ? i % op.parallelism : 0].push(serializeWith(where, 'element', serializer, element))
        i++
      }
      shares.forEach((elements, subtask) => {
        if (mode === 'split' || subtask === 0) perSubtask[subtask].push({ name: state.name, kind: 'list', mode, serializer: snapshotOf(serializer), elements })
      })
    } else if (state.kind === 'broadcast') {
      const keySerializer = state.keySerializer ?? Types.default<unknown>()
      const valueSerializer = state.valueSerializer ?? Types.default<unknown>()
      const entries: [Uint8Array, Uint8Array][] = []
      for await (const [key, value] of state.entries) entries.push([serializeWith(where, 'key', keySerializer, key), serializeWith(where, 'value', valueSerializer, value)])
      // Every subtask holds the same map; the first subtask stores it, as a running job does.
      perSubtask[0].push({ name: state.name, kind: 'broadcast', keySerializer: snapshotOf(keySerializer), valueSerializer: snapshotOf(valueSerializer), entries })
    } else {
      throw new StateError(`${where()}: kind must be 'list' or 'broadcast', got ${String((state as { kind: unknown }).kind)}`)
    }
  }

  return perSubtask.map((operatorEntries, subtask) => {
    const range = keyGroupRangeForSubtask(maxParallelism, op.parallelism, subtask)
    const keyGroups = new Map<number, Uint8Array>()
    for (const group of range) {
      const byState = groups.get(group)
      if (byState === undefined) continue
      const items = [...byState.entries()].sort((a, b) => a[0] - b[0])
      keyGroups.set(group, internalPackr.pack(items))
    }
    if (keyGroups.size === 0 && operatorEntries.length === 0) return undefined
    return {
      keyed: keyedStates.length === 0 ? undefined : { maxParallelism, keyGroupRange: { start: range.start, end: range.end }, states: metas, keyGroups },
      operator: { states: operatorEntries },
      timers: undefined,
    }
  })
}

function metaOf(state: KeyedStateBootstrap, namespaceSerializer: TypeSerializer<unknown>): KeyedStateMetaInfo {
  if (!['value', 'reducing', 'aggregating', 'list', 'map'].includes(state.kind)) {
    throw new StateError(`Keyed state '${state.name}': kind must be value, list, map, reducing or aggregating, got ${String(state.kind)}`)
  }
  const meta: KeyedStateMetaInfo = {
    name: state.name,
    kind: state.kind as StateKind,
    valueSerializer: snapshotOf((state.serializer ?? Types.default<unknown>()) as TypeSerializer<unknown>),
    namespaceSerializer: snapshotOf(namespaceSerializer),
  }
  if (state.kind === 'map') meta.mapKeySerializer = snapshotOf((state.mapKeySerializer ?? Types.default<unknown>()) as TypeSerializer<unknown>)
  return meta
}

/**
 * The stored payload of a value (layouts in state/snapshot.ts), without expiry (0); undefined for
 * an empty list or map, which a state does not keep either.
 */
function payloadEncoder(uid: string, state: KeyedStateBootstrap): (value: unknown, where: () => string) => unknown {
  const valueSerializer = (state.serializer ?? Types.default<unknown>()) as TypeSerializer<unknown>
  switch (state.kind) {
    case 'value':
    case 'reducing':
    case 'aggregating':
      return (value, where) => (value === undefined ? undefined : [serializeWith(where, 'value', valueSerializer, value), 0])
    case 'list':
      return (value, where) => {
        if (value === null || typeof value !== 'object' || !(Symbol.iterator in value)) throw new StateError(`${where()}: the value of a list state entry must be an array (or iterable) of elements`)
        const elements = [...(value as Iterable<unknown>)]
        if (elements.some((e) => e === undefined)) throw new StateError(`${where()}: a list state cannot hold undefined elements`)
        return elements.length === 0 ? undefined : elements.map((element) => [serializeWith(where, 'element', valueSerializer, element), 0])
      }
    case 'map': {
      const keySerializer = (state.mapKeySerializer ?? Types.default<unknown>()) as TypeSerializer<unknown>
      return (value, where) => {
        const pairs = mapPairs(value)
        if (pairs === undefined) throw new StateError(`${where()}: the value of a map state entry must be a Map, [key, value] pairs or a plain object`)
        return pairs.length === 0 ? undefined : pairs.map(([k, v]) => [serializeWith(where, 'map key', keySerializer, k), serializeWith(where, 'map value', valueSerializer, v), 0])
      }
    }
    default:
      throw new StateError(`State '${(state as { name: string }).name}' of operator '${uid}': unknown kind`)
  }
}

function mapPairs(value: unknown): (readonly [unknown, unknown])[] | undefined {
  if (value instanceof Map) return [...(value as Map<unknown, unknown>).entries()]
  if (value === null || typeof value !== 'object') return undefined
  if (Symbol.iterator in value) return [...(value as Iterable<readonly [unknown, unknown]>)]
  return Object.entries(value)
}

function serializeWith(where: () => string, role: string, serializer: TypeSerializer<unknown>, value: unknown): Uint8Array {
  try {
    return serializer.serialize(value)
  } catch (cause) {
    throw new StateError(`${where()}: ${role} serializer '${serializer.id}' failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
}

function checkUniqueNames(uid: string, kind: string, states: readonly { name: string }[]): void {
  const names = new Set<string>()
  for (const { name } of states) {
    if (typeof name !== 'string' || name.length === 0) throw new StateError(`Operator '${uid}': every ${kind} state needs a non-empty name`)
    if (names.has(name)) throw new StateError(`Operator '${uid}': ${kind} state '${name}' is given twice`)
    names.add(name)
  }
}

async function writeStateFile(dir: string, uid: string, subtask: number, state: OperatorSubtaskState): Promise<StateFileHandle> {
  const bytes = encodeSubtaskState(state)
  const path = stateFileName(uid, subtask)
  const handle = await open(join(dir, path), 'w')
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  return { path, size: bytes.byteLength, sha256: sha256Hex(bytes) }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

function bigintText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value
}
