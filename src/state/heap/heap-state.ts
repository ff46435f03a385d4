import { snapshotOf, type TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { StateDescriptor, StateKind } from '../descriptors.ts'
import { VOID_NAMESPACE, type Namespaced } from '../keyed-state-backend.ts'
import { deserializeKey, keyIdentity, type KeyIdentity } from '../key-serialization.ts'
import type { KeyedStateSerializers } from '../serializer-compatibility.ts'
import type { KeyedStateMetaInfo } from '../snapshot.ts'
import type { TtlTimeProvider } from '../ttl.ts'
import type { KeyContext } from './key-context.ts'
import { namespaceIdentity } from './namespace.ts'
import type { PayloadCodec, RawEntry } from './snapshot-codec.ts'
import { StateTable } from './state-table.ts'
import { TtlPolicy } from './ttl-policy.ts'

/** What every heap state of one backend shares. */
export interface HeapStateEnv {
  readonly keyContext: KeyContext
  readonly numKeyGroups: number
  readonly clock: TtlTimeProvider
}

/**
 * Common part of the heap state kinds: the table, the current namespace (its identity computed
 * once per `setCurrentNamespace`), TTL settings and the snapshot/restore plumbing.
 */
export abstract class HeapState<N, V> implements Namespaced<N> {
  abstract readonly kind: StateKind
  abstract readonly codec: PayloadCodec<V>
  readonly name: string
  readonly table: StateTable<V>
  protected readonly ctx: KeyContext
  protected readonly ttl: TtlPolicy | null
  protected nsId: KeyIdentity = 0
  protected namespace: unknown = VOID_NAMESPACE

  constructor(
    env: HeapStateEnv,
    readonly descriptor: StateDescriptor,
    readonly namespaceSerializer: TypeSerializer<unknown>,
  ) {
    this.name = descriptor.name
    this.ctx = env.keyContext
    this.ttl = TtlPolicy.of(descriptor.ttl, env.clock)
    this.table = new StateTable<V>(descriptor.name, env.keyContext, env.numKeyGroups)
  }

  setCurrentNamespace(namespace: N): void {
    this.nsId = namespaceIdentity(this.name, namespace, this.namespaceSerializer)
    this.namespace = namespace
  }

  /** The identity this state files a namespace under. */
  identityOf(namespace: unknown): KeyIdentity {
    return namespaceIdentity(this.name, namespace, this.namespaceSerializer)
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

  /**
   * Whether a reader could change a stored value in place. While a snapshot runs, reading such a
   * value hands its entry to the snapshot first, as a write would. Lists and maps give out their
   * elements, which may be objects; single values override this.
   */
  exposes(_value: V): boolean {
    return true
  }

  /** Fills the table from snapshot entries of one key group, deserializing with this state's serializers. */
  restoreGroup(groupIndex: number, entries: readonly RawEntry[], now: number): void {
    for (const [keyBytes, namespaceBytes, payload] of entries) {
      const value = this.codec.decode(payload, now)
      if (value === undefined) continue
      const key = deserializeKey(keyBytes)
      const namespace = this.namespaceSerializer.deserialize(namespaceBytes)
      this.table.putAt(groupIndex, keyIdentity(key), key, this.identityOf(namespace), namespace, value)
    }
  }
}
