import { snapshotOf, type TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { previewRecord, StateError } from '../../errors.ts'
import type { StateDescriptor, StateKind } from '../descriptors.ts'
import { voidNamespaceSerializer } from '../heap/namespace.ts'
import { TtlPolicy } from '../heap/ttl-policy.ts'
import { VOID_NAMESPACE, type Namespaced } from '../keyed-state-backend.ts'
import type { KeyedStateSerializers } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo } from '../snapshot.ts'
import type { TtlTimeProvider } from '../ttl.ts'
import { noCurrentKeyError, type RocksKeyContext } from './key-context.ts'
import { CachedRow, DELETE, PUT, type RowCache, type RowGroup, type RowHolder } from './row-cache.ts'
import { shapeOf, type RowFormat, type RowShape } from './row-format.ts'
import { lengthPrefixed, rowKey } from './row-key.ts'
import type { RocksDBInstance } from './rocksdb-instance.ts'

/** What every state of one RocksDB backend shares. */
export interface RocksStateEnv {
  readonly ctx: RocksKeyContext
  readonly cache: RowCache
  readonly db: RocksDBInstance
  readonly clock: TtlTimeProvider
}

/** The namespace part of row keys in the void namespace: a zero length. */
export const VOID_NAMESPACE_PART = Buffer.from([0])
const VOID_NAMESPACE_KEY = VOID_NAMESPACE_PART.toString('latin1')

/**
 * Common part of the RocksDB state kinds: the current namespace (serialized once per
 * `setCurrentNamespace`), the cached rows of the current namespace, TTL settings, and the row
 * format snapshots and restores use. `R` is what the cache keeps per key: a row, or for map state
 * the rows of the key's user keys.
 */
export abstract class RocksState<N, R = CachedRow> implements Namespaced<N>, RowHolder, RowFormat {
  abstract readonly kind: StateKind
  readonly name: string
  readonly ttl: TtlPolicy | null
  /** Expiry of rows stored without one (restored from a snapshot without TTL): their lifetime starts when the state is bound. */
  readonly unstampedExpiry: number
  protected readonly ctx: RocksKeyContext
  protected readonly cache: RowCache
  protected readonly db: RocksDBInstance
  /** `varint(length) | namespace bytes` of the current namespace. */
  protected namespacePart: Buffer = VOID_NAMESPACE_PART
  private namespaceKey = VOID_NAMESPACE_KEY
  private readonly groups = new Map<string, RowGroup<R>>()
  private current: RowGroup<R> | undefined = undefined

  constructor(
    env: RocksStateEnv,
    readonly descriptor: StateDescriptor,
    readonly namespaceSerializer: TypeSerializer<unknown>,
    /** Changes once, when rows restored before the state was bound are rewritten under a new id. */
    public stateId: number,
  ) {
    this.name = descriptor.name
    this.ctx = env.ctx
    this.cache = env.cache
    this.db = env.db
    this.ttl = TtlPolicy.of(descriptor.ttl, env.clock)
    this.unstampedExpiry = this.ttl === null ? 0 : this.ttl.expiry()
    env.cache.register(this)
  }

  get shape(): RowShape {
    return shapeOf(this.kind)
  }

  setCurrentNamespace(namespace: N): void {
    this.namespacePart = this.namespacePartOf(namespace)
    this.namespaceKey = this.namespacePart === VOID_NAMESPACE_PART ? VOID_NAMESPACE_KEY : this.namespacePart.toString('latin1')
    this.current = undefined
  }

  /**
   * The namespace part of row keys for a namespace. Namespaces are told apart by their serialized
   * bytes, as in Flink; the window serializers write equal windows as equal bytes.
   */
  namespacePartOf(namespace: unknown): Buffer {
    if (namespace === VOID_NAMESPACE) return VOID_NAMESPACE_PART
    if (this.namespaceSerializer === voidNamespaceSerializer) {
      throw new StateError(
        `State '${this.name}' was created without a namespace serializer, so it only has the void namespace; pass a namespace serializer when getting the state to use namespace ${previewRecord(namespace)}`,
      )
    }
    return lengthPrefixed(this.namespaceSerializer.serialize(namespace))
  }

  abstract metaInfo(): KeyedStateMetaInfo

  /** The serializers a restore checks the snapshot's against. */
  abstract serializers(): KeyedStateSerializers

  protected buildMetaInfo(valueSerializer: TypeSerializer<unknown>, mapKeySerializer?: TypeSerializer<unknown>): KeyedStateMetaInfo {
    const meta: KeyedStateMetaInfo = {
      name: this.name,
      kind: this.kind,
      valueSerializer: snapshotOf(valueSerializer),
      namespaceSerializer: snapshotOf(this.namespaceSerializer),
    }
    if (mapKeySerializer !== undefined) meta.mapKeySerializer = snapshotOf(mapKeySerializer)
    if (this.ttl !== null) meta.ttl = { ...this.ttl.config }
    return meta
  }

  // ---- row format (snapshots and restores) ----

  get dropExpired(): boolean {
    return this.ttl !== null && this.ttl.cleanupInSnapshot
  }

  snapshotExpiry(stored: number): number {
    return this.ttl === null ? 0 : this.effectiveExpiry(stored)
  }

  /** As the heap backend: an entry restored without expiry into a state with TTL starts its lifetime now. */
  restoreExpiry(written: number, now: number): number {
    return this.ttl !== null && written === 0 ? now + this.ttl.ttlMs : written
  }

  mapRowSuffix(userKeyBytes: Uint8Array): Uint8Array {
    return userKeyBytes
  }

  /** The expiry of a stored value of this state (which has TTL). */
  protected effectiveExpiry(stored: number): number {
    return stored === 0 ? this.unstampedExpiry : stored
  }

  // ---- cached rows ----

  /** The cached rows of the current namespace. */
  protected group(): RowGroup<R> {
    let group = this.current
    if (group === undefined) {
      group = this.groups.get(this.namespaceKey)
      if (group === undefined) {
        group = new Map()
        this.groups.set(this.namespaceKey, group)
      }
      this.current = group
    }
    return group
  }

  /** The cached rows of another namespace, without making it current. */
  protected groupOf(namespacePart: Buffer): RowGroup<R> {
    const key = namespacePart.toString('latin1')
    if (key === this.namespaceKey) return this.group()
    let group = this.groups.get(key)
    if (group === undefined) {
      group = new Map()
      this.groups.set(key, group)
    }
    return group
  }

  dropRows(): void {
    this.groups.clear()
    this.current = undefined
  }

  /** Throws unless a current key is set. */
  protected checkKey(): void {
    if (this.ctx.keyGroup < 0) throw noCurrentKeyError(this.name)
  }

  /** The row of the current key in a namespace (for states with one row per key and namespace). */
  protected rowAt(this: RocksState<N, CachedRow>, namespacePart: Buffer): CachedRow {
    this.checkKey()
    const current = namespacePart === this.namespacePart
    const keyId = this.ctx.keyId
    const existing = (current ? this.group() : this.groupOf(namespacePart)).get(keyId)
    if (existing !== undefined) return existing
    const row = this.newRow(this.rowKeyIn(namespacePart))
    // Asked again: making room may have emptied the groups.
    ;(current ? this.group() : this.groupOf(namespacePart)).set(keyId, row)
    return row
  }

  /** A new cached row, after making room in the cache (which may empty every group). */
  protected newRow(key: Buffer): CachedRow {
    if (this.cache.full) this.cache.evict()
    this.cache.added()
    return new CachedRow(key)
  }

  /** The row's stored value (reading RocksDB on a miss), without list elements still to append. */
  protected loadBase(row: CachedRow): Buffer | null {
    let base = row.base
    if (base === undefined) {
      base = this.db.get(row.key) ?? null
      row.base = base
      this.cache.resized(undefined, base)
    }
    return base
  }

  /** The row's value as a reader sees it: the stored value with the elements appended since. */
  protected load(row: CachedRow): Buffer | null {
    const base = this.loadBase(row)
    const tail = row.tail
    if (tail === null) return base
    return base === null ? Buffer.concat(tail) : Buffer.concat([base, ...tail])
  }

  protected store(row: CachedRow, value: Buffer): void {
    this.cache.resized(row.base, value)
    row.base = value
    row.op = PUT
    row.tail = null
    this.cache.markDirty(row)
  }

  protected erase(row: CachedRow): void {
    // Known to be absent and nothing appended: RocksDB has nothing to delete.
    if (row.base === null && row.tail === null) return
    this.cache.resized(row.base, null)
    row.base = null
    row.op = DELETE
    row.tail = null
    this.cache.markDirty(row)
  }

  /** Appends to the row without reading it: RocksDB's merge operator concatenates. */
  protected append(row: CachedRow, bytes: Buffer): void {
    if (row.tail === null) row.tail = [bytes]
    else row.tail.push(bytes)
    this.cache.resized(undefined, bytes)
    this.cache.markDirty(row)
  }

  /** Stops caching: the backend is disposed. */
  detach(): void {
    this.cache.unregister(this)
    this.dropRows()
  }

  /** Row key of the current key in a namespace (given as its key part). */
  protected rowKeyIn(namespacePart: Buffer, suffix?: Uint8Array): Buffer {
    return rowKey(this.stateId, this.ctx.keyPart, namespacePart, suffix)
  }
}
