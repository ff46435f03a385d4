import type { KeyedStateMetaInfo } from '../snapshot.ts'
import { shapeOf, type RowFormat, type RowShape } from './row-format.ts'

/**
 * A state loaded from snapshots whose descriptor has not been given yet. Its entries are already
 * rows in RocksDB, in the layout of its kind: the serializer bytes are stored as they were
 * snapshotted, so no serializer is needed until the state is used. The one exception is map
 * state, whose row keys need the user keys' canonical bytes: until the key serializer is known the
 * rows are keyed by the serialized user key, and they are rewritten when the state is bound.
 */
export class RestoredRocksState implements RowFormat {
  readonly shape: RowShape
  readonly dropExpired: boolean

  constructor(
    readonly meta: KeyedStateMetaInfo,
    readonly stateId: number,
  ) {
    this.shape = shapeOf(meta.kind)
    this.dropExpired = meta.ttl !== undefined && meta.ttl.cleanupInSnapshot !== false
  }

  get name(): string {
    return this.meta.name
  }

  metaInfo(): KeyedStateMetaInfo {
    return this.meta
  }

  /** Expiry times are kept exactly as they were restored until a descriptor says how to read them. */
  snapshotExpiry(stored: number): number {
    return stored
  }

  restoreExpiry(written: number): number {
    return written
  }

  mapRowSuffix(userKeyBytes: Uint8Array): Uint8Array {
    return userKeyBytes
  }

  /** Whether the rows are keyed by serialized user keys and must be rewritten when bound. */
  get needsRekeying(): boolean {
    return this.shape === 'map'
  }
}
