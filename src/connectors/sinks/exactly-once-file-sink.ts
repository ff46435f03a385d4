import { readdirSync, readFileSync } from 'node:fs'
import { access, mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Committer, Sink, SinkWriter, SinkWriterContext } from '../../api/connector/sink.ts'
import { WeirError } from '../../errors.ts'

/**
 * An exactly-once file sink in two phases, as Flink's FileSink:
 *
 * 1. The writer appends records as lines to a hidden in-progress file
 *    `.part-<subtask>-<attempt>-<seq>.inprogress`.
 * 2. On a checkpoint barrier (`prepareCommit`) it syncs that file and renames it to a hidden pending
 *    file `.part-<subtask>-<attempt>-<seq>.pending`; the committable (pending path, final path) goes
 *    into the checkpoint.
 * 3. Once the checkpoint is complete, the committer renames pending to final,
 *    `part-<subtask>-<checkpointId>-<n>`. Renames are atomic, so a final file is always whole.
 *
 * After a failure the job restores the last checkpoint, commits its committables again (a no-op
 * when already done), and removes what earlier attempts left (`abortLeftovers`, which runs
 * `cleanupFileSinkLeftovers`). The directory belongs to this sink: hidden part files of anything
 * else writing there would be removed too.
 */

/** A pending file to be renamed to its final name when its checkpoint completes. */
export interface FileCommittable {
  pendingPath: string
  finalPath: string
}

/** Options of `ExactlyOnceFileSink`. */
export interface ExactlyOnceFileSinkOptions<T> {
  /** One record's line, without the newline; default: strings as they are, anything else as JSON. */
  format?: (value: T) => string
  /** Start a new part file once the current one reaches this size (it still commits with its checkpoint); default: one file per checkpoint. */
  rollAtBytes?: number
  /** Buffered text written out in the background once it reaches this many characters; default 64 KiB. */
  bufferChars?: number
}

/** Hidden part files: subtask and sequence number are digits, so the attempt id in between is unambiguous. */
const HIDDEN_PART = /^\.part-\d+-(.+)-\d+\.(inprogress|pending)$/
const FINAL_PART = /^part-/

/** Writes records as lines to files in `dir`, visible only once their checkpoint has completed. */
export class ExactlyOnceFileSink<T> implements Sink<T, FileCommittable> {
  readonly dir: string

  constructor(
    dir: string,
    private readonly options: ExactlyOnceFileSinkOptions<T> = {},
  ) {
    // Committables outlive the process (they are in checkpoints), so they hold absolute paths.
    this.dir = resolve(dir)
    const roll = options.rollAtBytes
    if (roll !== undefined && !(roll > 0)) throw new WeirError('INVALID_CONFIG', `File sink ${dir}: rollAtBytes must be positive, got ${roll}`)
  }

  createWriter(context: SinkWriterContext): SinkWriter<T, FileCommittable> {
    return new ExactlyOnceFileWriter(this.dir, context.subtaskIndex, attemptPart(context), this.options)
  }

  createCommitter(): Committer<FileCommittable> {
    return { commit: commitFiles }
  }

  /**
   * Deletes the in-progress and pending files of earlier attempts. The restored committables were
   * committed before this runs, so none of the remaining hidden files is needed; files of the
   * current attempt are spared, since other subtasks may already be writing them.
   */
  async abortLeftovers(context: SinkWriterContext): Promise<void> {
    await cleanupFileSinkLeftovers(this.dir, [], { currentAttemptId: attemptPart(context) })
  }
}

/** The attempt id as it appears in file names; the same in every subtask and in `abortLeftovers`. */
function attemptPart(context: SinkWriterContext): string {
  const id = context.attemptId.replace(/[^A-Za-z0-9_-]/g, '_')
  return id.length > 0 ? id : `attempt${context.attemptNumber}`
}

/** The in-progress file being written. */
interface OpenPart {
  handle: FileHandle
  path: string
  pendingPath: string
  bytes: number
}

class ExactlyOnceFileWriter<T> implements SinkWriter<T, FileCommittable> {
  private readonly format: (value: T) => string
  private readonly rollAtBytes: number
  private readonly bufferChars: number
  /** Unique per run of the job, so files of a failed attempt never clash with the next one's, and cleanup can tell them apart. */
  private readonly attemptId: string
  private buffer: string[] = []
  private bufferedChars = 0
  private current: OpenPart | undefined
  /** Pending files of the current checkpoint interval, in order. */
  private pending: string[] = []
  private seq = 0
  /** File operations run one after another on this chain, since `write` cannot wait for them. */
  private io: Promise<void> = Promise.resolve()
  private failure: unknown
  private dirCreated = false
  private drainQueued = false

  constructor(
    private readonly dir: string,
    private readonly subtask: number,
    attemptId: string,
    options: ExactlyOnceFileSinkOptions<T>,
  ) {
    this.attemptId = attemptId
    this.format = options.format ?? ((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
    this.rollAtBytes = options.rollAtBytes ?? Number.POSITIVE_INFINITY
    this.bufferChars = options.bufferChars ?? 1 << 16
  }

  write(value: T): void {
    this.throwIfFailed()
    const line = `${this.format(value)}\n`
    this.buffer.push(line)
    this.bufferedChars += line.length
    if (this.bufferedChars >= this.bufferChars && !this.drainQueued) {
      // One queued drain takes everything buffered by the time it runs, so one is enough.
      this.drainQueued = true
      this.enqueue(() => this.drain())
    }
  }

  async flush(): Promise<void> {
    await this.run(async () => {
      await this.drain()
      await this.current?.handle.sync()
    })
  }

  async prepareCommit(checkpointId: number): Promise<FileCommittable[]> {
    await this.run(async () => {
      await this.drain()
      if (this.current) await this.closeToPending()
      // The renames to pending must be durable before the checkpoint that records them completes.
      if (this.pending.length > 0) await syncDir(this.dir)
    })
    const committables = this.pending.map((pendingPath, n) => ({ pendingPath, finalPath: join(this.dir, `part-${this.subtask}-${checkpointId}-${n}`) }))
    this.pending = []
    return committables
  }

  async close(): Promise<void> {
    await this.io
    const part = this.current
    this.current = undefined
    this.buffer = []
    this.bufferedChars = 0
    if (part) {
      // Records after the last checkpoint are never committed; their file would only be litter.
      await part.handle.close().catch(() => {})
      await unlink(part.path).catch(() => {})
    }
  }

  /**
   * Writes the buffered lines to in-progress files, opening one when needed and rolling at the size
   * limit. Rolls happen between lines, so every part file holds whole lines only.
   */
  private async drain(): Promise<void> {
    this.drainQueued = false
    const lines = this.buffer
    this.buffer = []
    this.bufferedChars = 0
    let from = 0
    while (from < lines.length) {
      const part = this.current ?? (await this.openPart())
      let to = lines.length
      let size = 0
      if (this.rollAtBytes !== Number.POSITIVE_INFINITY) {
        // Take lines until the file reaches the limit (at least one line, so a long line cannot stall).
        to = from
        while (to < lines.length && (to === from || part.bytes + size < this.rollAtBytes)) size += Buffer.byteLength(lines[to++])
      }
      const bytes = Buffer.from(lines.slice(from, to).join(''), 'utf8')
      for (let at = 0; at < bytes.byteLength; ) at += (await part.handle.write(bytes, at, bytes.byteLength - at)).bytesWritten
      part.bytes += bytes.byteLength
      from = to
      if (part.bytes >= this.rollAtBytes) await this.closeToPending()
    }
  }

  private async openPart(): Promise<OpenPart> {
    if (!this.dirCreated) {
      await mkdir(this.dir, { recursive: true })
      this.dirCreated = true
    }
    const base = `.part-${this.subtask}-${this.attemptId}-${this.seq++}`
    const path = join(this.dir, `${base}.inprogress`)
    // 'wx': a name this writer has used before must never be truncated.
    const handle = await open(path, 'wx')
    this.current = { handle, path, pendingPath: join(this.dir, `${base}.pending`), bytes: 0 }
    return this.current
  }

  private async closeToPending(): Promise<void> {
    const part = this.current!
    this.current = undefined
    await part.handle.sync()
    await part.handle.close()
    await rename(part.path, part.pendingPath)
    this.pending.push(part.pendingPath)
  }

  private enqueue(task: () => Promise<void>): void {
    this.io = this.io.then(async () => {
      if (this.failure === undefined) await task()
    }).catch((error: unknown) => {
      this.failure ??= error
    })
  }

  /** Runs a task after everything queued and reports any failure of it or before it. */
  private async run(task: () => Promise<void>): Promise<void> {
    this.enqueue(task)
    await this.io
    this.throwIfFailed()
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) {
      const cause = this.failure
      throw new WeirError('SINK_WRITE_FAILED', `File sink ${this.dir} (subtask ${this.subtask}) could not write: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    }
  }
}

/**
 * Renames pending files to their final names. Idempotent: a committable whose final file exists and
 * whose pending file does not was committed before (by an attempt that failed afterwards).
 */
async function commitFiles(committables: FileCommittable[]): Promise<void> {
  const dirs = new Set<string>()
  for (const { pendingPath, finalPath } of committables) {
    try {
      await rename(pendingPath, finalPath)
      dirs.add(dirname(finalPath))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      if (await exists(finalPath)) continue
      throw new WeirError(
        'SINK_COMMIT_FAILED',
        `Cannot commit file ${finalPath}: neither it nor its pending file ${pendingPath} exists (was the pending file deleted, or the output directory changed?)`,
        { cause: error },
      )
    }
  }
  // The commit must survive a crash once it is reported done.
  for (const dir of dirs) await syncDir(dir)
}

/**
 * Deletes every hidden in-progress and pending file in `dir` that is not in `keep`: what an earlier
 * attempt left behind. Call it once on restore, with the committables of the restored checkpoint not
 * yet committed, and either before the new attempt's writers start or with `currentAttemptId` so
 * their files are spared. Returns the paths deleted.
 */
export async function cleanupFileSinkLeftovers(dir: string, keep: readonly FileCommittable[], options: { currentAttemptId?: string } = {}): Promise<string[]> {
  const root = resolve(dir)
  const kept = new Set(keep.map((c) => resolve(c.pendingPath)))
  let names: string[]
  try {
    names = await readdir(root)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const removed: string[] = []
  for (const name of names) {
    const path = join(root, name)
    const match = HIDDEN_PART.exec(name)
    if (!match || kept.has(path) || match[1] === options.currentAttemptId) continue
    await unlink(path).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    })
    removed.push(path)
  }
  if (removed.length > 0) await syncDir(root)
  return removed
}

const byName = new Intl.Collator('en', { numeric: true })

/**
 * All lines of the committed (final) files in `dir`, by file name (numbers in names compared as
 * numbers, so checkpoint 10 follows checkpoint 9) then line order. For tests; throws if a file
 * ends with a partial line, which a committed file never may.
 */
export function readCommittedLines(dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const lines: string[] = []
  for (const name of names.filter((n) => FINAL_PART.test(n)).sort(byName.compare)) {
    const text = readFileSync(join(dir, name), 'utf8')
    if (text.length === 0) continue
    if (!text.endsWith('\n')) throw new Error(`Committed file ${join(dir, name)} ends with a partial line`)
    const fileLines = text.split('\n')
    // The final newline leaves one empty string after the split.
    fileLines.pop()
    lines.push(...fileLines)
  }
  return lines
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch (error) {
    // Some platforms and filesystems cannot sync a directory; there the rename's own guarantees are all there is.
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'ENOTSUP') throw error
  } finally {
    await handle?.close()
  }
}
