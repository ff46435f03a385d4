import type { OperatorSubtaskState } from './operator-subtask-state.ts'

/** Whether a snapshot is a periodic checkpoint or a savepoint the user asked for. */
export type SnapshotKind = 'checkpoint' | 'savepoint'

/** Where one operator subtask's state was written. */
export interface StateFileHandle {
  /** Path relative to the snapshot's directory (or the job's shared directory, see `shared`). */
  path: string
  size: number
  /** SHA-256 of the file, hex. */
  sha256: string
}

/** One operator in a completed snapshot. */
export interface OperatorSnapshotMetadata {
  uid: string
  name: string
  parallelism: number
  maxParallelism: number
  /** One entry per old subtask; undefined where a subtask had no state at all. */
  subtasks: (StateFileHandle | undefined)[]
}

/** What `_metadata` records about a completed checkpoint or savepoint. */
export interface SnapshotMetadata {
  formatVersion: number
  kind: SnapshotKind
  jobId: string
  jobName: string
  checkpointId: number
  /** Wall-clock time the checkpoint was triggered. */
  timestamp: number
  operators: OperatorSnapshotMetadata[]
  /** Split enumerator state per source operator uid, msgpack-encoded then base64. */
  sourceEnumerators: { uid: string; state: string }[]
}

/** A completed snapshot as storage knows it. */
export interface CompletedSnapshotHandle {
  checkpointId: number
  kind: SnapshotKind
  /** Directory (filesystem) or key (memory) of the snapshot; what `restoreFrom` takes. */
  pointer: string
  metadata: SnapshotMetadata
}

/** A checkpoint directory `listCompleted` did not count as a completed checkpoint, and why. */
export interface SkippedCheckpoint {
  /** The id from the directory name. */
  checkpointId: number
  /** The directory (filesystem) or key (memory). */
  pointer: string
  /** E.g. "no _metadata (the checkpoint did not complete)" or the checksum error. */
  reason: string
}

/**
 * Where checkpoints of one job are written: state files first (any order, in parallel), then the
 * metadata, atomically, which is what makes a checkpoint complete. Implementations: memory (tests)
 * and a filesystem directory; an object store can implement the same interface.
 */
export interface CheckpointStorage {
  /** Writes one operator subtask's state for a checkpoint; returns its handle (size, checksum). */
  writeSubtaskState(checkpointId: number, kind: SnapshotKind, operatorUid: string, subtask: number, state: OperatorSubtaskState): Promise<StateFileHandle>
  /** Writes `_metadata` last and atomically; the snapshot is complete once this resolves. */
  commit(metadata: SnapshotMetadata): Promise<CompletedSnapshotHandle>
  /**
   * Reads and verifies (size, checksum) one subtask's state of a completed snapshot. With
   * `keyGroups`, only keyed state and timers of those key groups are decoded (a restore at another
   * parallelism takes only its range).
   */
  readSubtaskState(snapshot: CompletedSnapshotHandle, handle: StateFileHandle, keyGroups?: { start: number; end: number }): Promise<OperatorSubtaskState>
  /** Completed checkpoints of this job, oldest first (directories without valid `_metadata` are skipped). */
  listCompleted(): Promise<CompletedSnapshotHandle[]>
  /** Why the last `listCompleted` skipped directories, so the caller can log them. */
  readonly lastListProblems: readonly SkippedCheckpoint[]
  /** Deletes a checkpoint's directory (retention, aborted checkpoints). */
  discard(checkpointId: number): Promise<void>
}
