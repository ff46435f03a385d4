import { WeirError } from '../errors.ts'
import type { CheckpointStorage, CompletedSnapshotHandle, SkippedCheckpoint, SnapshotKind, SnapshotMetadata, StateFileHandle } from './checkpoint-storage.ts'
import { decodeMetadata, encodeMetadata } from './metadata-codec.ts'
import type { OperatorSubtaskState } from './operator-subtask-state.ts'
import { checkpointDirName, checkRelativeStatePath, describeStateFile, METADATA_FILE_NAME, sha256Hex, stateFileName, verifyStateFile } from './state-files.ts'
import { decodeSubtaskState, encodeSubtaskState, type KeyGroupSelection } from './subtask-state-codec.ts'

/**
 * Checkpoint storage in this process's memory, for tests and the local runner. It keeps encoded
 * bytes and checksums exactly as the filesystem storage does, so tests exercise the codecs and the
 * verification, and it can damage or delete stored files to test how failures are reported.
 */
export class MemoryCheckpointStorage implements CheckpointStorage {
  /** Snapshot directory name (`chk-<n>`, `savepoint-<n>`) -> file name -> bytes. */
  private readonly dirs = new Map<string, Map<string, Uint8Array>>()
  private problems: SkippedCheckpoint[] = []

  constructor(readonly jobId: string = 'job') {}

  get lastListProblems(): readonly SkippedCheckpoint[] {
    return this.problems
  }

  async writeSubtaskState(checkpointId: number, kind: SnapshotKind, operatorUid: string, subtask: number, state: OperatorSubtaskState): Promise<StateFileHandle> {
    const dir = this.openDir(checkpointId, kind)
    const bytes = encodeSubtaskState(state)
    const path = stateFileName(operatorUid, subtask)
    dir.set(path, bytes)
    return { path, size: bytes.byteLength, sha256: sha256Hex(bytes) }
  }

  async commit(metadata: SnapshotMetadata): Promise<CompletedSnapshotHandle> {
    const dir = this.openDir(metadata.checkpointId, metadata.kind)
    const name = dirName(metadata.checkpointId, metadata.kind)
    for (const op of metadata.operators) {
      for (const handle of op.subtasks) {
        if (handle && !dir.has(handle.path)) {
          throw new WeirError('CHECKPOINT_FILE_MISSING', `Cannot complete ${metadata.kind} ${metadata.checkpointId}: state file ${handle.path} of operator '${op.uid}' was never written`)
        }
      }
    }
    dir.set(METADATA_FILE_NAME, encodeMetadata(metadata))
    return { checkpointId: metadata.checkpointId, kind: metadata.kind, pointer: this.pointerOf(name), metadata }
  }

  async readSubtaskState(snapshot: CompletedSnapshotHandle, handle: StateFileHandle, keyGroups?: KeyGroupSelection): Promise<OperatorSubtaskState> {
    const path = checkRelativeStatePath(handle.path, `${snapshot.kind} ${snapshot.checkpointId}`)
    const location = `${snapshot.pointer}/${path}`
    const where = describeStateFile(location, snapshot.checkpointId, snapshot.kind)
    const bytes = this.dirs.get(dirName(snapshot.checkpointId, snapshot.kind))?.get(path)
    if (bytes === undefined) throw new WeirError('CHECKPOINT_FILE_MISSING', `${where} is missing`)
    verifyStateFile(bytes, handle, where)
    return decodeSubtaskState(bytes, location, keyGroups)
  }

  async listCompleted(): Promise<CompletedSnapshotHandle[]> {
    const problems: SkippedCheckpoint[] = []
    const completed: CompletedSnapshotHandle[] = []
    for (const [name, files] of this.dirs) {
      const match = /^chk-(\d+)$/.exec(name)
      if (!match) continue
      const checkpointId = Number(match[1])
      const pointer = this.pointerOf(name)
      const bytes = files.get(METADATA_FILE_NAME)
      if (bytes === undefined) {
        problems.push({ checkpointId, pointer, reason: `no ${METADATA_FILE_NAME} (the checkpoint did not complete)` })
        continue
      }
      try {
        const metadata = decodeMetadata(bytes, `${pointer}/${METADATA_FILE_NAME}`)
        if (metadata.checkpointId !== checkpointId) {
          problems.push({ checkpointId, pointer, reason: `${METADATA_FILE_NAME} describes checkpoint ${metadata.checkpointId}` })
          continue
        }
        completed.push({ checkpointId, kind: 'checkpoint', pointer, metadata })
      } catch (error) {
        problems.push({ checkpointId, pointer, reason: error instanceof Error ? error.message : String(error) })
      }
    }
    this.problems = problems
    return completed.sort((a, b) => a.checkpointId - b.checkpointId)
  }

  async discard(checkpointId: number): Promise<void> {
    this.dirs.delete(checkpointDirName(checkpointId))
  }

  /** A completed savepoint, as `openSnapshot` gives one for a directory. */
  async openSavepoint(checkpointId: number): Promise<CompletedSnapshotHandle> {
    const name = dirName(checkpointId, 'savepoint')
    const bytes = this.dirs.get(name)?.get(METADATA_FILE_NAME)
    if (bytes === undefined) throw new WeirError('CHECKPOINT_FILE_MISSING', `Savepoint ${checkpointId} of job ${this.jobId} does not exist (no ${METADATA_FILE_NAME})`)
    const metadata = decodeMetadata(bytes, `${this.pointerOf(name)}/${METADATA_FILE_NAME}`)
    return { checkpointId, kind: 'savepoint', pointer: this.pointerOf(name), metadata }
  }

  /** The names of the files stored for a snapshot, for tests. */
  fileNames(checkpointId: number, kind: SnapshotKind = 'checkpoint'): string[] {
    return [...(this.dirs.get(dirName(checkpointId, kind))?.keys() ?? [])].sort()
  }

  /** Flips every bit of one byte of a stored file (by default a byte in the middle), to test corruption handling. */
  corruptFile(checkpointId: number, fileName: string, byteIndex?: number, kind: SnapshotKind = 'checkpoint'): void {
    const dir = this.dirs.get(dirName(checkpointId, kind))
    const bytes = dir?.get(fileName)
    if (!dir || !bytes) throw new Error(`No file ${fileName} in ${kind} ${checkpointId}`)
    const copy = bytes.slice()
    const at = byteIndex ?? Math.floor(copy.byteLength / 2)
    copy[at] ^= 0xff
    dir.set(fileName, copy)
  }

  /** Replaces a stored file's bytes, e.g. with a truncated copy. */
  replaceFile(checkpointId: number, fileName: string, bytes: Uint8Array, kind: SnapshotKind = 'checkpoint'): void {
    const dir = this.dirs.get(dirName(checkpointId, kind))
    if (!dir) throw new Error(`No ${kind} ${checkpointId}`)
    dir.set(fileName, bytes)
  }

  /** Removes one stored file, to test how a missing file is reported. */
  deleteFile(checkpointId: number, fileName: string, kind: SnapshotKind = 'checkpoint'): void {
    if (!this.dirs.get(dirName(checkpointId, kind))?.delete(fileName)) throw new Error(`No file ${fileName} in ${kind} ${checkpointId}`)
  }

  private openDir(checkpointId: number, kind: SnapshotKind): Map<string, Uint8Array> {
    const name = dirName(checkpointId, kind)
    let dir = this.dirs.get(name)
    if (!dir) this.dirs.set(name, (dir = new Map()))
    // Writing into a completed snapshot would change state its metadata vouches for.
    if (dir.has(METADATA_FILE_NAME)) throw new WeirError('CHECKPOINT_EXISTS', `${kind} ${checkpointId} of job ${this.jobId} is already complete; it cannot be written again`)
    return dir
  }

  private pointerOf(name: string): string {
    return `memory://${this.jobId}/${name}`
  }
}

function dirName(checkpointId: number, kind: SnapshotKind): string {
  return kind === 'checkpoint' ? checkpointDirName(checkpointId) : `savepoint-${checkpointId}`
}
