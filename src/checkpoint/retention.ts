import { WeirError } from '../errors.ts'
import type { SnapshotKind } from './checkpoint-storage.ts'

/**
 * The completed checkpoints to discard so that only the newest `retain` stay, oldest first. The
 * latest checkpoint is never returned (a `retain` of 0 keeps it too), and savepoints belong to the
 * user, so they are never returned either.
 */
export function checkpointsToDiscard<T extends { checkpointId: number; kind?: SnapshotKind }>(completed: readonly T[], retain: number): T[] {
  if (!Number.isInteger(retain) || retain < 0) {
    throw new WeirError('INVALID_CONFIG', `The number of retained checkpoints must be a non-negative integer, got ${retain}`)
  }
  const checkpoints = completed.filter((c) => c.kind !== 'savepoint').sort((a, b) => a.checkpointId - b.checkpointId)
  const keep = Math.max(1, retain)
  return checkpoints.slice(0, Math.max(0, checkpoints.length - keep))
}
