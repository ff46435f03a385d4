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
import { keyGroupForKey, KeyGroupRange, UPPER_BOUND_MAX_PARALLELISM } from '../key-groups.ts'
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
import { deserializeKey, keyIdentity, type KeyIdentity } from '../key-serialization.ts'
import { describeSerializer, migrateKeyedStateEntries, resolveKeyedStateCompatibility } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo, KeyedStateSnapshot } from '../snapshot.ts'
import { systemTimeProvider, type TtlTimeProvider } from '../ttl.ts'
import { HeapAggregatingState } from './heap-aggregating-state.ts'
import { HeapListState } from './heap-list-state.ts'
import { HeapMapState } from './heap-map-state.ts'
import { HeapReducingState } from './heap-reducing-state.ts'
import type { HeapState, HeapStateEnv } from './heap-state.ts'
import { HeapValueState } from './heap-value-state.ts'
import { KeyContext } from './key-context.ts'
import { voidNamespaceSerializer } from './namespace.ts'
import { RestoredState } from './restored-state.ts'
import { HeapSnapshotRun } from './heap-snapshot.ts'
import { decodeKeyGroup } from './snapshot-codec.ts'
import { hasNamespace } from './state-table.ts'

/** Options of `HeapKeyedStateBackend`. */
export interface HeapKeyedStateBackendOptions {
  maxParallelism: number
  keyGroupRange: KeyGroupRange
  /** Clock of state TTL; the wall clock by default. */
  timeProvider?: TtlTimeProvider
  /** Named in error messages. */
  operatorName?: string
}

type AnyHeapState = HeapState<unknown, unknown>

/**
 * Keyed state held as live JavaScript objects, organised by key group so a snapshot writes each key
 * group directly. Serializers are only used to snapshot and restore.
 */
export class HeapKeyedStateBackend implements KeyedStateBackend {
  readonly maxParallelism: number
  readonly keyGroupRange: KeyGroupRange
  private readonly clock: TtlTimeProvider
  private readonly operatorName: string | undefined
  private readonly ctx = new KeyContext()
  private readonly env: HeapStateEnv
  /** States registered by a descriptor, in registration order (the order of a snapshot's metadata). */
  private readonly states = new Map<string, AnyHeapState>()
  /** States loaded by `restore` and not yet bound to a descriptor. */
  private readonly restored = new Map<string, RestoredState>()
  /** The snapshot begun and not yet finished or discarded. */
  private pending: HeapSnapshotRun | null = null
  /** Version of the latest snapshot begun; entries older than a running snapshot are copied on write. */
  private snapshotVersion = 0

  constructor(options: HeapKeyedStateBackendOptions) {
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
    this.env = { keyContext: this.ctx, numKeyGroups: this.keyGroupRange.size, clock: this.clock }
  }

  private where(): string {
    return this.operatorName === undefined ? '' : ` of operator '${this.operatorName}'`
  }

  // ---- current key ----

  setCurrentKey(key: unknown): void {
    const ctx = this.ctx
    // Consecutive records often share a key; a primitive key cannot have changed in between.
    if (key === ctx.key && ctx.groupIndex >= 0 && typeof key !== 'object') return
    const keyGroup = keyGroupForKey(key, this.maxParallelism)
    const range = this.keyGroupRange
    if (keyGroup < range.start || keyGroup > range.end) {
      throw new WeirError(
        'KEY_GROUP_OUT_OF_RANGE',
        `Key ${previewRecord(key)} is in key group ${keyGroup}, outside the key-group range ${range.toString()} of this keyed state backend${this.where()}; the stream was not partitioned by this key`,
      )
    }
    ctx.key = key
    ctx.keyId = keyIdentity(key)
    ctx.keyGroup = keyGroup
    ctx.groupIndex = keyGroup - range.start
  }

  getCurrentKey(): unknown {
    return this.ctx.key
  }

  getCurrentKeyGroup(): number {
    return this.ctx.keyGroup
  }

  // ---- states ----

  getValueState<N, T>(descriptor: ValueStateDescriptor<T>, namespaceSerializer?: TypeSerializer<N>): InternalValueState<N, T> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns) => new HeapValueState<N, T>(this.env, descriptor, ns)) as unknown as InternalValueState<N, T>
  }

  getListState<N, T>(descriptor: ListStateDescriptor<T>, namespaceSerializer?: TypeSerializer<N>): InternalListState<N, T> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns) => new HeapListState<N, T>(this.env, descriptor, ns)) as unknown as InternalListState<N, T>
  }

  getMapState<N, UK, UV>(descriptor: MapStateDescriptor<UK, UV>, namespaceSerializer?: TypeSerializer<N>): InternalMapState<N, UK, UV> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns) => new HeapMapState<N, UK, UV>(this.env, descriptor, ns)) as unknown as InternalMapState<N, UK, UV>
  }

  getReducingState<N, T>(descriptor: ReducingStateDescriptor<T>, namespaceSerializer?: TypeSerializer<N>): InternalReducingState<N, T> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns) => new HeapReducingState<N, T>(this.env, descriptor, ns)) as unknown as InternalReducingState<N, T>
  }

  getAggregatingState<N, IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
    namespaceSerializer?: TypeSerializer<N>,
  ): InternalAggregatingState<N, IN, OUT> {
    return this.getOrCreate(descriptor, namespaceSerializer, (ns) => new HeapAggregatingState<N, IN, ACC, OUT>(this.env, descriptor, ns)) as unknown as InternalAggregatingState<N, IN, OUT>
  }

  private getOrCreate(
    descriptor: StateDescriptor,
    namespaceSerializer: TypeSerializer<unknown> | undefined,
    create: (namespaceSerializer: TypeSerializer<unknown>) => AnyHeapState,
  ): AnyHeapState {
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
    const state = create(namespaceSerializer ?? voidNamespaceSerializer)
    if (restored !== undefined) this.bind(state, restored)
    this.states.set(name, state)
    return state
  }

  /**
   * Moves a restored state's entries into a live state, once its serializers are known to read
   * them; entries written with an older layout are migrated on the way.
   */
  private bind(state: AnyHeapState, restored: RestoredState): void {
    const migration = resolveKeyedStateCompatibility(restored.meta, state.serializers())
    const now = this.clock.now()
    for (const [groupIndex, entries] of restored.groups) {
      state.restoreGroup(groupIndex, migration === null ? entries : migrateKeyedStateEntries(restored.meta.kind, entries, migration), now)
    }
    this.restored.delete(restored.name)
  }

  /** The state of a descriptor of any kind, created or bound if needed. */
  private stateFor(descriptor: StateDescriptor): AnyHeapState {
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
    return this.states.get(descriptor.name) as AnyHeapState
  }

  // ---- iteration ----

  getKeys(stateName: string, namespace: unknown): IterableIterator<unknown> {
    const state = this.states.get(stateName)
    if (state !== undefined) return hasNoSuchNamespace(state, namespace) ? [].values() : keysOf(state, state.identityOf(namespace))
    const restored = this.restored.get(stateName)
    if (restored === undefined) return [].values()
    if (namespace !== VOID_NAMESPACE || restored.meta.namespaceSerializer.id !== voidNamespaceSerializer.id) {
      throw new StateError(
        `State '${stateName}' was restored but not yet registered; get it with its descriptor and namespace serializer before listing its keys in namespace ${previewRecord(namespace)}`,
      )
    }
    return restoredVoidKeys(restored)
  }

  applyToAllKeys<N>(namespace: N, descriptor: StateDescriptor, fn: (key: unknown) => void): void {
    const state = this.stateFor(descriptor)
    if (hasNoSuchNamespace(state, namespace)) return
    state.setCurrentNamespace(namespace)
    const nsId = state.identityOf(namespace)
    const saved = new KeyContext()
    saved.assign(this.ctx)
    const ctx = this.ctx
    try {
      for (let groupIndex = 0; groupIndex < state.table.numKeyGroups; groupIndex++) {
        // Collected first: fn may remove and re-add the key, which a live Map iteration would visit again.
        const keys: [KeyIdentity, unknown][] = []
        for (const [keyId, entry] of state.table.group(groupIndex)) if (hasNamespace(entry, nsId)) keys.push([keyId, entry.key])
        for (const [keyId, key] of keys) {
          ctx.key = key
          ctx.keyId = keyId
          ctx.keyGroup = groupIndex + this.keyGroupRange.start
          ctx.groupIndex = groupIndex
          fn(key)
        }
      }
    } finally {
      if (saved.groupIndex >= 0) this.ctx.assign(saved)
    }
  }

  numEntries(): number {
    let total = 0
    for (const state of this.states.values()) total += state.table.size()
    for (const restored of this.restored.values()) total += restored.size()
    return total
  }

  // ---- snapshot and restore ----

  /**
   * Written to the end before returning, so it needs no copy-on-write and may be taken while an
   * asynchronous snapshot is pending (it does not disturb it).
   */
  snapshot(): KeyedStateSnapshot {
    const run = this.newRun(undefined, undefined)
    run.step(Number.POSITIVE_INFINITY)
    return run.result()
  }

  beginSnapshot(): PendingKeyedSnapshot {
    if (this.pending !== null) {
      throw new StateError(`A snapshot of the keyed state${this.where()} is already in progress; finish or discard it before beginning another`)
    }
    const run: HeapSnapshotRun = this.newRun(++this.snapshotVersion, () => {
      if (this.pending === run) this.pending = null
    })
    this.pending = run
    return run
  }

  private newRun(version: number | undefined, onEnd: (() => void) | undefined): HeapSnapshotRun {
    const { start, end } = this.keyGroupRange
    return new HeapSnapshotRun({
      maxParallelism: this.maxParallelism,
      keyGroupRange: { start, end },
      now: this.clock.now(),
      states: [...this.states.values()],
      restored: [...this.restored.values()],
      version,
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
    const range = this.keyGroupRange
    for (const snapshot of snapshots) {
      const targets = snapshot.states.map((meta) => this.restoredFor(meta))
      for (const [keyGroup, bytes] of snapshot.keyGroups) {
        if (!range.contains(keyGroup)) continue
        for (const [stateIndex, entries] of decodeKeyGroup(bytes, keyGroup, targets.length)) targets[stateIndex].add(keyGroup - range.start, entries)
      }
    }
    // States the operator registered before restoring take their entries now.
    for (const [name, state] of this.states) {
      const restored = this.restored.get(name)
      if (restored !== undefined) this.bind(state, restored)
    }
  }

  /** The holder of a restored state's entries; snapshots of other subtasks share it. */
  private restoredFor(meta: KeyedStateMetaInfo): RestoredState {
    const live = this.states.get(meta.name)
    if (live !== undefined && live.kind !== meta.kind) throw kindMismatch(meta.name, live.kind, meta.kind)
    const existing = this.restored.get(meta.name)
    if (existing !== undefined) {
      if (existing.meta.kind !== meta.kind) throw kindMismatch(meta.name, existing.meta.kind, meta.kind)
      checkCompatible(meta, existing.meta)
      return existing
    }
    const restored = new RestoredState(meta)
    this.restored.set(meta.name, restored)
    return restored
  }

  dispose(): void {
    // Discarded first: it gives back the entries it kept and must not see the tables cleared.
    this.pending?.discard()
    for (const state of this.states.values()) state.table.clear()
    this.states.clear()
    this.restored.clear()
    this.ctx.assign(new KeyContext())
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

/** A state created without a namespace serializer has nothing in a non-void namespace. */
function hasNoSuchNamespace(state: AnyHeapState, namespace: unknown): boolean {
  return state.namespaceSerializer === voidNamespaceSerializer && namespace !== VOID_NAMESPACE
}

function* keysOf(state: AnyHeapState, nsId: KeyIdentity): IterableIterator<unknown> {
  for (let groupIndex = 0; groupIndex < state.table.numKeyGroups; groupIndex++) {
    for (const entry of state.table.group(groupIndex).values()) if (hasNamespace(entry, nsId)) yield entry.key
  }
}

function* restoredVoidKeys(restored: RestoredState): IterableIterator<unknown> {
  for (const entries of restored.groups.values()) for (const [keyBytes] of entries) yield deserializeKey(keyBytes)
}
