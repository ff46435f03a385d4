import type { StateKind } from '../descriptors.ts'
import { isExpired } from '../heap/ttl-policy.ts'

/** How the rows of a state are laid out: one value, a list of elements, or one row per map entry. */
export type RowShape = 'single' | 'list' | 'map'

/** The row shape of a state kind. */
export function shapeOf(kind: StateKind): RowShape {
  return kind === 'list' ? 'list' : kind === 'map' ? 'map' : 'single'
}

/**
 * What snapshots and restores need to know about a state's rows, whether the state is bound to a
 * descriptor or only restored: where its rows are and how expiry times are read and written.
 */
export interface RowFormat {
  readonly name: string
  readonly stateId: number
  readonly shape: RowShape
  /** Whether a snapshot leaves out what has expired (TTL with `cleanupInSnapshot`). */
  readonly dropExpired: boolean
  /** The expiry time a snapshot writes for a stored one (0: none). */
  snapshotExpiry(stored: number): number
  /** The expiry time a restored entry is stored with, given the one in the snapshot. */
  restoreExpiry(written: number, now: number): number
  /**
   * The row-key suffix of a restored map entry, from its user key's serializer bytes: the
   * canonical key bytes when the state's serializers are known, else the bytes themselves (the
   * rows are then converted when the state is bound).
   */
  mapRowSuffix(userKeyBytes: Uint8Array): Uint8Array
}

/** Whether an entry with this (snapshot) expiry is left out of a snapshot taken at `now`. */
export function droppedAt(format: RowFormat, expiresAt: number, now: number): boolean {
  return format.dropExpired && expiresAt !== 0 && isExpired(expiresAt, now)
}
