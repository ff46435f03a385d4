import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { WeirError } from '../errors.ts'
import type { CheckpointStorage, CompletedSnapshotHandle, SkippedCheckpoint, SnapshotKind, SnapshotMetadata, StateFileHandle } from './checkpoint-storage.ts'
import { decodeMetadata, encodeMetadata } from './metadata-codec.ts'
import type { OperatorSubtaskState } from './operator-subtask-state.ts'
import { checkpointDirName, checkRelativeStatePath, describeStateFile, fileNamePart, METADATA_FILE_NAME, sha256Hex, stateFileName, verifyStateFile } from './state-files.ts'
import { decodeSubtaskState, encodeSubtaskState, type KeyGroupSelection } from './subtask-state-codec.ts'

/** Options of `FileSystemCheckpointStorage`. */
export interface FileSystemCheckpointStorageOptions {
  /** Where savepoints go, one directory each; default `<baseDir>/savepoints`. */
  savepointDir?: string
  /** Called for every directory `listCompleted` skips, e.g. to log it; also kept in `lastListProblems`. */
  onSkipped?: (problem: SkippedCheckpoint) => void
}

/**
 * Checkpoints of one job in a directory tree:
 *
 * ```
 * <baseDir>/<jobId>/chk-<n>/<uid>-<subtask>.state   state files, written first
 * <baseDir>/<jobId>/chk-<n>/_metadata               written last, atomically: its presence makes n complete
 * <savepointDir>/savepoint-<jobId>-<n>/...           savepoints, same layout, self-contained
 * ```
 *
 * Paths in `_metadata` are relative to the snapshot directory, so a directory copied elsewhere can be
 * opened with `openSnapshot`.
 */
export class FileSystemCheckpointStorage implements CheckpointStorage {
  /** `<baseDir>/<jobId>`: holds the `chk-<n>` directories. */
  readonly jobDir: string
  readonly savepointDir: string
  private problems: SkippedCheckpoint[] = []
  /** Snapshot directories created (and checked not to be complete) by this instance. */
  private readonly prepared = new Map<string, Promise<void>>()

  constructor(
    baseDir: string,
    readonly jobId: string,
    private readonly options: FileSystemCheckpointStorageOptions = {},
  ) {
    this.jobDir = join(resolve(baseDir), fileNamePart(jobId))
    this.savepointDir = resolve(options.savepointDir ?? join(baseDir, 'savepoints'))
  }

  get lastListProblems(): readonly SkippedCheckpoint[] {
    return this.problems
  }

  /** The directory of a checkpoint or savepoint of this job. */
  snapshotDir(checkpointId: number, kind: SnapshotKind = 'checkpoint'): string {
    return kind === 'checkpoint' ? join(this.jobDir, checkpointDirName(checkpointId)) : join(this.savepointDir, `savepoint-${fileNamePart(this.jobId)}-${checkpointId}`)
  }

  async writeSubtaskState(checkpointId: number, kind: SnapshotKind, operatorUid: string, subtask: number, state: OperatorSubtaskState): Promise<StateFileHandle> {
    const dir = this.snapshotDir(checkpointId, kind)
    await this.prepare(dir, checkpointId, kind)
    const bytes = encodeSubtaskState(state)
    const path = stateFileName(operatorUid, subtask)
    // Synced now, so `_metadata` (written after every state file) never points at data still in the page cache.
    await writeDurably(join(dir, path), bytes)
    return { path, size: bytes.byteLength, sha256: sha256Hex(bytes) }
  }

  async commit(metadata: SnapshotMetadata): Promise<CompletedSnapshotHandle> {
    const { checkpointId, kind } = metadata
    const dir = this.snapshotDir(checkpointId, kind)
    await this.prepare(dir, checkpointId, kind)
    // A checkpoint whose metadata names a file that is not there could never be restored; better to fail it now.
    await Promise.all(
      metadata.operators.flatMap((op) =>
        op.subtasks.flatMap((handle) =>
          handle
            ? [
                stat(join(dir, checkRelativeStatePath(handle.path, `${kind} ${checkpointId}`))).then(
                  (s) => {
                    if (s.size !== handle.size) throw new WeirError('CHECKPOINT_CORRUPT', `Cannot complete ${kind} ${checkpointId}: state file ${join(dir, handle.path)} has ${s.size} bytes, expected ${handle.size}`)
                  },
                  (error: unknown) => {
                    if (isNotFound(error)) throw new WeirError('CHECKPOINT_FILE_MISSING', `Cannot complete ${kind} ${checkpointId}: state file ${join(dir, handle.path)} of operator '${op.uid}' is missing`)
                    throw error
                  },
                ),
              ]
            : [],
        ),
      ),
    )
    // The state files' directory entries must be durable before the metadata that refers to them.
    await syncDir(dir)
    await writeAtomically(dir, METADATA_FILE_NAME, encodeMetadata(metadata))
    this.prepared.delete(dir)
    return { checkpointId, kind, pointer: dir, metadata }
  }

  async readSubtaskState(snapshot: CompletedSnapshotHandle, handle: StateFileHandle, keyGroups?: KeyGroupSelection): Promise<OperatorSubtaskState> {
    return readSnapshotSubtaskState(snapshot, handle, keyGroups)
  }

  async listCompleted(): Promise<CompletedSnapshotHandle[]> {
    const problems: SkippedCheckpoint[] = []
    const completed: CompletedSnapshotHandle[] = []
    let names: string[]
    try {
      names = await readdir(this.jobDir)
    } catch (error) {
      if (!isNotFound(error)) throw error
      names = []
    }
    const skip = (problem: SkippedCheckpoint): void => {
      problems.push(problem)
      this.options.onSkipped?.(problem)
    }
    const found = names.flatMap((name) => {
      const match = /^chk-(\d+)$/.exec(name)
      return match ? [{ checkpointId: Number(match[1]), dir: join(this.jobDir, name) }] : []
    })
    found.sort((a, b) => a.checkpointId - b.checkpointId)
    for (const { checkpointId, dir } of found) {
      const file = join(dir, METADATA_FILE_NAME)
      let bytes: Uint8Array
      try {
        bytes = await readFile(file)
      } catch (error) {
        if (isNotFound(error)) skip({ checkpointId, pointer: dir, reason: `no ${METADATA_FILE_NAME} (the checkpoint did not complete)` })
        else skip({ checkpointId, pointer: dir, reason: `cannot read ${file}: ${errorText(error)}` })
        continue
      }
      try {
        const metadata = decodeMetadata(bytes, file)
        if (metadata.checkpointId !== checkpointId || metadata.kind !== 'checkpoint') {
          skip({ checkpointId, pointer: dir, reason: `${file} describes ${metadata.kind} ${metadata.checkpointId}, not checkpoint ${checkpointId}` })
          continue
        }
        completed.push({ checkpointId, kind: 'checkpoint', pointer: dir, metadata })
      } catch (error) {
        skip({ checkpointId, pointer: dir, reason: errorText(error) })
      }
    }
    this.problems = problems
    return completed
  }

  async discard(checkpointId: number): Promise<void> {
    const dir = this.snapshotDir(checkpointId)
    this.prepared.delete(dir)
    await rm(dir, { recursive: true, force: true })
  }

  /** Creates a snapshot directory once, refusing one that already holds a completed snapshot. */
  private prepare(dir: string, checkpointId: number, kind: SnapshotKind): Promise<void> {
    let ready = this.prepared.get(dir)
    if (!ready) {
      ready = (async () => {
        try {
          await stat(join(dir, METADATA_FILE_NAME))
        } catch (error) {
          if (!isNotFound(error)) throw error
          await mkdir(dir, { recursive: true })
          // The new directory's own entry must survive a crash too.
          await syncDir(dirname(dir))
          return
        }
        throw new WeirError('CHECKPOINT_EXISTS', `${kind} ${checkpointId} already exists and is complete in ${dir}; it cannot be written again (another run of job ${this.jobId} wrote it?)`)
      })()
      this.prepared.set(dir, ready)
      ready.catch(() => this.prepared.delete(dir))
    }
    return ready
  }
}

/**
 * Opens a snapshot directory (a retained checkpoint or a savepoint, possibly copied elsewhere) by its
 * path, or by the path of its `_metadata` file.
 */
export async function openSnapshot(pointer: string): Promise<CompletedSnapshotHandle> {
  let dir = resolve(pointer)
  try {
    if (basename(dir) === METADATA_FILE_NAME || !(await stat(dir)).isDirectory()) dir = dirname(dir)
  } catch (error) {
    if (isNotFound(error)) throw new WeirError('CHECKPOINT_FILE_MISSING', `Snapshot ${pointer} does not exist`)
    throw error
  }
  const file = join(dir, METADATA_FILE_NAME)
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (error) {
    if (isNotFound(error)) throw new WeirError('CHECKPOINT_FILE_MISSING', `${dir} is not a completed checkpoint or savepoint: it has no ${METADATA_FILE_NAME}`)
    throw error
  }
  const metadata = decodeMetadata(bytes, file)
  return { checkpointId: metadata.checkpointId, kind: metadata.kind, pointer: dir, metadata }
}

/**
 * Reads, verifies and decodes one state file of a snapshot directory (see `openSnapshot`). With
 * `keyGroups`, only keyed state and timers of those key groups are decoded.
 */
export async function readSnapshotSubtaskState(snapshot: CompletedSnapshotHandle, handle: StateFileHandle, keyGroups?: KeyGroupSelection): Promise<OperatorSubtaskState> {
  const file = join(snapshot.pointer, checkRelativeStatePath(handle.path, `${snapshot.kind} ${snapshot.checkpointId} in ${snapshot.pointer}`))
  const where = describeStateFile(file, snapshot.checkpointId, snapshot.kind)
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (error) {
    if (isNotFound(error)) throw new WeirError('CHECKPOINT_FILE_MISSING', `${where} is missing`)
    throw error
  }
  verifyStateFile(bytes, handle, where)
  return decodeSubtaskState(bytes, file, keyGroups)
}

/** Writes a file and syncs it to disk before resolving. */
async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'w')
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Replaces `dir/name` so that a reader sees the old file or the whole new one, also after a crash:
 * a synced temporary file renamed over the target, then the directory synced so the rename is
 * durable. A crash leaves at most a hidden temporary file, which readers never look at.
 */
export async function writeAtomically(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await writeDurably(temp, bytes)
    await rename(temp, join(dir, name))
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
  await syncDir(dir)
}

/** Makes a directory's entries (created, renamed, removed files) durable. */
export async function syncDir(dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch (error) {
    // Some platforms and filesystems cannot open or sync a directory; there the rename's own
    // guarantees are all there is.
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'ENOTSUP') throw error
  } finally {
    await handle?.close()
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
