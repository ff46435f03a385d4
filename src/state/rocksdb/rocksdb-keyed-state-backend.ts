import type { SerializerSnapshot, TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { previewRecord, StateError, WeirError } from '../../errors.ts'
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  StateDescriptor,
  ValueStateDescriptor,
} from '../descriptors.ts'
import { voidNamespaceSerializer } from '../heap/namespace.ts'
import { KeyGroupRange, UPPER_BOUND_MAX_PARALLELISM } from '../key-groups.ts'
import {
  VOID_NAMESPACE,
  type InternalAggregatingState,
  type InternalListState,
  type InternalMapState,
  type InternalReducingState,
  type InternalValueState,
  type KeyedStateBackend,
  type PendingKeyedSnapshot,
} from '../keyed-state-backend.ts'
import { deserializeKey, scratchKeyBuffer, writeKeyToScratch, type KeyIdentity } from '../key-serialization.ts'
import { murmur3_32 } from '../murmur3.ts'
import { describeSerializer, resolveKeyedStateCompatibility, type KeyedStateMigration } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo, KeyedStateSnapshot } from '../snapshot.ts'
import { systemTimeProvider, type TtlTimeProvider } from '../ttl.ts'
import { EntryCounts } from './entry-counts.ts'
import { RocksKeyContext } from './key-context.ts'
import type { NativeOpenOptions } from './native.ts'
import { RestoredRocksState } from './restored-state.ts'
import { RowCache, type RowCacheLimits } from './row-cache.ts'
import type { RowFormat } from './row-format.ts'
import { keyPart, MAX_STATE_ID, parseRowKey, RowKeyParts, stateEnd, stateStart } from './row-key.ts'
import { RocksAggregatingState } from './rocksdb-aggregating-state.ts'
import { RocksDBInstance } from './rocksdb-instance.ts'
import { RocksListState } from './rocksdb-list-state.ts'
import { RocksMapState } from './rocksdb-map-state.ts'
import { RocksReducingState } from './rocksdb-reducing-state.ts'
import { restoreKeyGroups, rewriteRows, type RestoreTarget } from './rocksdb-restore.ts'
import { RocksSnapshotRun } from './rocksdb-snapshot.ts'
import { VOID_NAMESPACE_PART, type RocksState, type RocksStateEnv } from './rocksdb-state.ts'
import { RocksValueState } from './rocksdb-value-state.ts'
import { createWorkingDirectory, removeWorkingDirectory } from './working-directory.ts'

/** Options of `RocksDBKeyedStateBackend`. */
export interface RocksDBKeyedStateBackendOptions {
  maxParallelism: number
  keyGroupRange: KeyGroupRange
  /** Clock of state TTL; the wall clock by default. */
  timeProvider?: TtlTimeProvider
  /** Named in error messages and in the directory name. */
  operatorName?: string
  /** Directory under which this backend creates its own; the directory is removed on dispose. */
  root: string
  /** How RocksDB is opened (see `rocksDBStateBackend` for the defaults). */
  rocksdb: NativeOpenOptions
  /** Limits of the in-memory row cache and write buffer. */
  cache: RowCacheLimits
}

type AnyRocksState = RocksState<unknown, unknown>

/**
 * Keyed state of one operator subtask in its own RocksDB instance: rows keyed by state, key
 * group, key and namespace (see row-key.ts), values as their serializers' bytes. State access is
 * synchronous: reads use the addon's synchronous get, writes collect in a row cache that is
 * written in batches. Snapshots and restores use the canonical key-group format, so they are
 * interchangeable with the heap backend's.
 */
export class RocksDBKeyedStateBackend implements KeyedStateBackend {
  readonly maxParallelism: number
  readonly keyGroupRange: KeyGroupRange
  /** The directory of this backend's RocksDB instance. */
  readonly directory: string
  private readonly clock: TtlTimeProvider
  private readonly operatorName: string | undefined
  private readonly ctx = new RocksKeyContext()
  private readonly db: RocksDBInstance
  private readonly cache: RowCache
  private readonly counts: EntryCounts
  private readonly env: RocksStateEnv
  /** States registered by a descriptor, in registration order (the order of a snapshot's metadata). */
  private readonly states = new Map<string, AnyRocksState>()
  /** States loaded by `restore` and not yet bound to a descriptor. */
  private readonly restored = new Map<string, RestoredRocksState>()
  private pending: RocksSnapshotRun | null = null
  private nextStateId = 0
  private disposed = false

  constructor(options: RocksDBKeyedStateBackendOptions) {
    const { maxParallelism, keyGroupRange } = options
    if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
      throw new WeirError('INVALID_PARALLELISM', `Max parallelism must be an integer from 1 to ${UPPER_BOUND_MAX_PARALLELISM}, got ${maxParallelism}`)
    }
    if (!Number.isInteger(keyGroupRange.start) || !Number.isInteger(keyGroupRange.end) || keyGroupRange.start < 0 || keyGroupRange.end >= maxParallelism || keyGroupRange.start > keyGroupRange.end) {
      throw new WeirError('INVALID_KEY_GROUP_RANGE', `Key-group range [${keyGroupRange.start}, ${keyGroupRange.end}] is not a non-empty range within [0, ${maxParallelism - 1}]`)
    }
    this.maxParallelism = maxParallelism
    // Copied so a plain { start, end } (as found in snapshots) works too.
    this.keyGroupRange = new KeyGroupRange(keyGroupRange.start, keyGroupRange.end)
    this.clock = options.timeProvider ?? systemTimeProvider
    this.operatorName = options.operatorName
    this.directory = createWorkingDirectory(options.root, `${options.operatorName ?? 'keyed'}-kg${keyGroupRange.start}-${keyGroupRange.end}`)
    try {
      this.db = RocksDBInstance.open(this.directory, options.rocksdb)
    } catch (error) {
      removeWorkingDirectory(this.directory)
      throw error
    }
    this.counts = new EntryCounts(this.db, this.keyGroupRange.start, this.keyGroupRange.end)
    this.db.observer = this.counts
    this.cache = new RowCache(this.db, options.cache)
    this.env = { ctx: this.ctx, cache: this.cache, db: this.db, clock: this.clock }
  }

  private where(): string {
    return this.operatorName === undefined ? '' : ` of operator '${this.operatorName}'`
  }

  // ---- current key ----

  setCurrentKey(key: unknown): void {
    const ctx = this.ctx
    // Consecutive records often share a key; a primitive key cannot have changed in between.
    if (key === ctx.key && ctx.keyGroup >= 0 && typeof key !== 'object') return
    const length = writeKeyToScratch(key)
    const bytes = scratchKeyBuffer()
    const keyGroup = murmur3_32(bytes, 0, length) % this.maxParallelism
    const range = this.keyGroupRange
    if (keyGroup < range.start || keyGroup > range.end) {
      throw new WeirError(
        'KEY_GROUP_OUT_OF_RANGE',
        `Key ${previewRecord(key)} is in key group ${keyGroup}, outside the key-group range ${range.toString()} of this keyed state backend${this.where()}; the stream was not partitioned by this key`,
      )
    }
    ctx.key = key
    ctx.keyId = identityOf(key, bytes, length)
    ctx.keyGroup = keyGroup
    ctx.keyPart = keyPart(keyGroup, bytes, length)
  }

  getCurrentKey(): unknown {
    return this.ctx.key
  }

  getCurrentKeyGroup(): number {
    return this.ctx.keyGroup
  }

  // ---- states ----

  getValueState<N, T>(descriptor: ValueStateDescriptor<T>, namespaceSerializer?: TypeSerializer<N>): InternalValueState<N, T> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns, id) => new RocksValueState<N, T>(this.env, descriptor, ns, id)) as unknown as InternalValueState<N, T>
  }

  getListState<N, T>(descriptor: ListStateDescriptor<T>, namespaceSerializer?: TypeSerializer<N>): InternalListState<N, T> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns, id) => new RocksListState<N, T>(this.env, descriptor, ns, id)) as unknown as InternalListState<N, T>
  }

  getMapState<N, UK, UV>(descriptor: MapStateDescriptor<UK, UV>, namespaceSerializer?: TypeSerializer<N>): InternalMapState<N, UK, UV> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns, id) => new RocksMapState<N, UK, UV>(this.env, descriptor, ns, id)) as unknown as InternalMapState<N, UK, UV>
  }

  getReducingState<N, T>(descriptor: ReducingStateDescriptor<T>, namespaceSerializer?: TypeSerializer<N>): InternalReducingState<N, T> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns, id) => new RocksReducingState<N, T>(this.env, descriptor, ns, id)) as unknown as InternalReducingState<N, T>
  }

  getAggregatingState<N, IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
    namespaceSerializer?: TypeSerializer<N>,
  ): InternalAggregatingState<N, IN, OUT> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns, id) => new RocksAggregatingState<N, IN, ACC, OUT>(this.env, descriptor, ns, id)) as unknown as InternalAggregatingState<N, IN, OUT>
  }

  private getOrCreate(
    descriptor: StateDescriptor,
    namespaceSerializer: TypeSerializer<unknown> | undefined,
    create: (namespaceSerializer: TypeSerializer<unknown>, stateId: number) => AnyRocksState,
  ): AnyRocksState {
    const name = descriptor.name
    const existing = this.states.get(name)
    if (existing !== undefined) {
      if (existing.kind !== descriptor.kind) throw kindMismatch(name, existing.kind, descriptor.kind)
      // Without a namespace serializer the caller just wants the state (applyToAllKeys, user code).
      if (namespaceSerializer !== undefined && !sameSerializer(existing.namespaceSerializer, namespaceSerializer)) {
        throw new StateError(
          `State '${name}' was created with namespace serializer '${existing.namespaceSerializer.id}' and is now asked for with '${namespaceSerializer.id}'`,
        )
      }
      return existing
    }
    const restored = this.restored.get(name)
    if (restored !== undefined && restored.meta.kind !== descriptor.kind) throw kindMismatch(name, restored.meta.kind, descriptor.kind)
    const state = create(namespaceSerializer ?? voidNamespaceSerializer, restored?.stateId ?? this.allocateStateId())
    if (restored !== undefined) this.bind(state, restored)
    this.states.set(name, state)
    return state
  }

  /**
   * Adopts the rows of a restored state once its serializers are known to read them; rows of map
   * state, and rows written with an older serializer layout, are rewritten on the way.
   */
  private bind(state: AnyRocksState, restored: RestoredRocksState): void {
    let migration: KeyedStateMigration | null
    try {
      migration = resolveKeyedStateCompatibility(restored.meta, state.serializers())
    } catch (error) {
      state.detach()
      throw error
    }
    if (restored.needsRekeying || migration !== null) {
      state.stateId = this.allocateStateId()
      try {
        rewriteRows(this.db, restored.stateId, state, migration)
      } catch (error) {
        state.detach()
        throw error
      }
    }
    this.restored.delete(restored.name)
  }

  private allocateStateId(): number {
    if (this.nextStateId > MAX_STATE_ID) throw new StateError(`The keyed state backend${this.where()} has run out of state ids (${MAX_STATE_ID + 1})`)
    return this.nextStateId++
  }

  /** The state of a descriptor of any kind, created or bound if needed. */
  private stateFor(descriptor: StateDescriptor): AnyRocksState {
    const existing = this.states.get(descriptor.name)
    if (existing !== undefined && existing.kind === descriptor.kind) return existing
    switch (descriptor.kind) {
      case 'value':
        this.getValueState(descriptor as ValueStateDescriptor<unknown>)
        break
      case 'list':
        this.getListState(descriptor as ListStateDescriptor<unknown>)
        break
      case 'map':
        this.getMapState(descriptor as MapStateDescriptor<unknown, unknown>)
        break
      case 'reducing':
        this.getReducingState(descriptor as ReducingStateDescriptor<unknown>)
        break
      case 'aggregating':
        this.getAggregatingState(descriptor as AggregatingStateDescriptor<unknown, unknown, unknown>)
        break
    }
    return this.states.get(descriptor.name) as AnyRocksState
  }

  // ---- iteration ----

  getKeys(stateName: string, namespace: unknown): IterableIterator<unknown> {
    const state = this.states.get(stateName)
    if (state !== undefined) {
      if (state.namespaceSerializer === voidNamespaceSerializer && namespace !== VOID_NAMESPACE) return [].values()
      return this.keysOf(state.stateId, state.namespacePartOf(namespace))
    }
    const restored = this.restored.get(stateName)
    if (restored === undefined) return [].values()
    if (namespace !== VOID_NAMESPACE || restored.meta.namespaceSerializer.id !== voidNamespaceSerializer.id) {
      throw new StateError(
        `State '${stateName}' was restored but not yet registered; get it with its descriptor and namespace serializer before listing its keys in namespace ${previewRecord(namespace)}`,
      )
    }
    return this.keysOf(restored.stateId, VOID_NAMESPACE_PART)
  }

  /** The keys of a state with a row in a namespace, read from a view taken now. */
  private keysOf(stateId: number, namespacePart: Buffer): IterableIterator<unknown> {
    const rows = this.rowsIn(stateId, namespacePart)
    return (function* () {
      for (const { keyBytes } of rows) yield deserializeKey(keyBytes)
    })()
  }

  /**
   * The distinct keys of a state's rows in a namespace, with their key group and key part. The
   * cache is flushed and the cursor opened at the call, so the rows are those of this moment.
   */
  private rowsIn(stateId: number, namespacePart: Buffer): Generator<{ keyBytes: Buffer; keyGroup: number; keyPart: Buffer }> {
    this.cache.flush()
    const cursor = this.db.cursor(stateStart(stateId), stateEnd(stateId), { values: false, batchSize: 1024 })
    const parts = new RowKeyParts()
    return (function* () {
      let last: Buffer | undefined
      try {
        while (cursor.next()) {
          const row = cursor.key
          parseRowKey(row, parts)
          // The namespace part of the row, length included, against the one asked for.
          if (row.compare(namespacePart, 0, namespacePart.length, parts.keyEnd, parts.namespaceEnd) !== 0) continue
          const keyPartOfRow = row.subarray(2, parts.keyEnd)
          // Map state has a row per user key: the key comes once.
          if (last !== undefined && last.equals(keyPartOfRow)) continue
          last = keyPartOfRow
          yield { keyBytes: parts.key(row), keyGroup: parts.keyGroup, keyPart: keyPartOfRow }
        }
      } finally {
        cursor.close()
      }
    })()
  }

  applyToAllKeys<N>(namespace: N, descriptor: StateDescriptor, fn: (key: unknown) => void): void {
    const state = this.stateFor(descriptor)
    if (state.namespaceSerializer === voidNamespaceSerializer && namespace !== VOID_NAMESPACE) return
    state.setCurrentNamespace(namespace)
    const saved = new RocksKeyContext()
    saved.assign(this.ctx)
    const ctx = this.ctx
    // The cursor's view is fixed when it opens, so fn may remove and re-add keys freely.
    const rows = this.rowsIn(state.stateId, state.namespacePartOf(namespace))
    try {
      for (const { keyBytes, keyGroup, keyPart: part } of rows) {
        const key = deserializeKey(keyBytes)
        ctx.key = key
        ctx.keyId = identityOf(key, keyBytes, keyBytes.length)
        ctx.keyGroup = keyGroup
        ctx.keyPart = part
        fn(key)
      }
    } finally {
      rows.return(undefined)
      if (saved.keyGroup >= 0) this.ctx.assign(saved)
    }
  }

  /** Number of (key, namespace) entries over all states; re-reads the key groups written since the last call (for tests and metrics). */
  numEntries(): number {
    if (this.disposed) return 0
    this.cache.flush()
    let total = 0
    for (const format of this.formats()) total += this.counts.count(format.stateId, format.shape)
    return total
  }

  /** Writes the pending writes of the row cache to RocksDB. */
  flush(): void {
    this.cache.flush()
  }

  /** A RocksDB property of this backend's instance, e.g. `rocksdb.estimate-num-keys`. */
  property(name: string): string {
    return this.db.property(name)
  }

  // ---- snapshot and restore ----

  /** Registered states, then restored ones not yet registered: the order of a snapshot's metadata. */
  private formats(): (AnyRocksState | RestoredRocksState)[] {
    return [...this.states.values(), ...this.restored.values()]
  }

  /** Written to the end before returning; may be taken while an asynchronous snapshot is pending. */
  snapshot(): KeyedStateSnapshot {
    const run = this.newRun(undefined)
    run.step(Number.POSITIVE_INFINITY)
    return run.result()
  }

  beginSnapshot(): PendingKeyedSnapshot {
    if (this.pending !== null) {
      throw new StateError(`A snapshot of the keyed state${this.where()} is already in progress; finish or discard it before beginning another`)
    }
    const run: RocksSnapshotRun = this.newRun(() => {
      if (this.pending === run) this.pending = null
    })
    this.pending = run
    return run
  }

  private newRun(onEnd: (() => void) | undefined): RocksSnapshotRun {
    this.cache.flush()
    const states = this.formats()
    const { start, end } = this.keyGroupRange
    return new RocksSnapshotRun({
      db: this.db,
      maxParallelism: this.maxParallelism,
      keyGroupRange: { start, end },
      now: this.clock.now(),
      metas: states.map((state) => state.metaInfo()),
      formats: states as RowFormat[],
      onEnd,
    })
  }

  restore(snapshots: readonly KeyedStateSnapshot[]): void {
    for (const snapshot of snapshots) {
      if (snapshot.maxParallelism !== this.maxParallelism) {
        throw new WeirError(
          'MAX_PARALLELISM_MISMATCH',
          `Cannot restore keyed state written with max parallelism ${snapshot.maxParallelism} into a backend${this.where()} with max parallelism ${this.maxParallelism}: keys would land in other key groups`,
        )
      }
    }
    // Rows change under the cache: it is written out and emptied first.
    this.cache.evict()
    const now = this.clock.now()
    for (const snapshot of snapshots) {
      const targets = snapshot.states.map((meta) => this.restoreTarget(meta))
      restoreKeyGroups(this.db, snapshot, this.keyGroupRange, targets, now)
    }
  }

  /**
   * Where a snapshotted state's entries go: the registered state (migrating what an older
   * serializer wrote), or a restored one, shared by the snapshots of all old subtasks.
   */
  private restoreTarget(meta: KeyedStateMetaInfo): RestoreTarget {
    const live = this.states.get(meta.name)
    if (live !== undefined) {
      if (live.kind !== meta.kind) throw kindMismatch(meta.name, live.kind, meta.kind)
      return { format: live, kind: meta.kind, migration: resolveKeyedStateCompatibility(meta, live.serializers()) }
    }
    const existing = this.restored.get(meta.name)
    if (existing !== undefined) {
      if (existing.meta.kind !== meta.kind) throw kindMismatch(meta.name, existing.meta.kind, meta.kind)
      checkCompatible(meta, existing.meta)
      return { format: existing, kind: meta.kind, migration: null }
    }
    const restored = new RestoredRocksState(meta, this.allocateStateId())
    this.restored.set(meta.name, restored)
    return { format: restored, kind: meta.kind, migration: null }
  }

  /** Closes RocksDB and removes its directory. Pending writes are dropped. Idempotent. */
  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    try {
      this.pending?.discard()
      this.cache.discard()
      for (const state of this.states.values()) state.detach()
      this.states.clear()
      this.restored.clear()
      this.ctx.assign(new RocksKeyContext())
      this.db.close()
    } finally {
      removeWorkingDirectory(this.directory)
    }
  }
}

/**
 * The cache identity of a key, one to one with the key (as `keyIdentity`), computed from the
 * canonical bytes already at hand instead of serializing the key again.
 */
function identityOf(key: unknown, bytes: Uint8Array, length: number): KeyIdentity {
  switch (typeof key) {
    case 'string':
      return key.charCodeAt(0) === 0 ? `\u0000${key}` : key
    case 'number':
      return key === 0 ? 0 : key
    case 'bigint':
    case 'boolean':
      return key
    default:
      return `\u0000${Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('latin1')}`
  }
}

function kindMismatch(name: string, existing: string, requested: string): StateError {
  return new StateError(`State '${name}' is a ${existing} state; it cannot also be used as a ${requested} state`)
}

function sameSerializer(a: SerializerSnapshot, b: SerializerSnapshot): boolean {
  return a.id === b.id && a.version === b.version
}

/** Refuses to merge snapshots of one state written with different serializers (they cannot be one checkpoint). */
function checkCompatible(current: KeyedStateMetaInfo, restored: KeyedStateMetaInfo): void {
  const pairs: [string, SerializerSnapshot | undefined, SerializerSnapshot | undefined][] = [
    [current.kind === 'map' ? 'map value' : 'value', current.valueSerializer, restored.valueSerializer],
    ['map key', current.mapKeySerializer, restored.mapKeySerializer],
    ['namespace', current.namespaceSerializer, restored.namespaceSerializer],
  ]
  for (const [role, mine, theirs] of pairs) {
    if (mine === undefined && theirs === undefined) continue
    if (mine === undefined || theirs === undefined || !sameSerializer(mine, theirs)) {
      throw new StateError(
        `State '${current.name}': the snapshot was written with ${role} serializer ${describeSerializer(theirs)}, but the state now uses ${describeSerializer(mine)}`,
      )
    }
  }
}
