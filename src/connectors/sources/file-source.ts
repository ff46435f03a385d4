import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { InputStatus, ReaderOutput, Source, SourceReader, SourceSplit } from '../../api/connector/source.ts'
import { WeirError } from '../../errors.ts'
import { StaticSplitEnumerator } from './sequence-source.ts'
import { SplitOutputs } from './split-outputs.ts'

/** One file; `offset` is the byte position of the next line to read. */
export interface FileSplit extends SourceSplit {
  path: string
  offset: number
}

const CHUNK = 256 * 1024

/** Reads lines from its files, a chunk at a time; the offset after each whole line is the position. */
class LineReader implements SourceReader<string, FileSplit> {
  private readonly splits: FileSplit[] = []
  private noMoreSplits = false
  private fd: number | undefined
  private buffer = Buffer.alloc(0)
  private bufferOffset = 0
  private readonly chunk = Buffer.allocUnsafe(CHUNK)
  private waiting: (() => void) | undefined
  private readonly decoder = new TextDecoder('utf-8', { fatal: false })
  private readonly outputs = new SplitOutputs<string>()

  start(): void {}

  pollNext(output: ReaderOutput<string>): InputStatus {
    const split = this.splits[0]
    if (!split) return this.noMoreSplits ? 'end' : 'nothing-available'
    if (this.fd === undefined) {
      try {
        this.fd = openSync(split.path, 'r')
      } catch (cause) {
        throw new WeirError('SOURCE_FILE_UNREADABLE', `File source cannot open '${split.path}': ${(cause as Error).message}`, { cause })
      }
      this.buffer = Buffer.alloc(0)
      this.bufferOffset = split.offset
    }
    const read = readSync(this.fd, this.chunk, 0, CHUNK, this.bufferOffset + this.buffer.length)
    const data = read > 0 ? Buffer.concat([this.buffer, this.chunk.subarray(0, read)]) : this.buffer
    const out = this.outputs.outputFor(output, split.splitId, this.splits)
    let start = 0
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl
      out.collect(this.decoder.decode(data.subarray(start, end)))
      start = nl + 1
    }
    if (read === 0) {
      // The last line may lack a newline.
      if (start < data.length) out.collect(this.decoder.decode(data.subarray(start)))
      closeSync(this.fd)
      this.fd = undefined
      this.splits.shift()
      this.outputs.release(output, split.splitId)
      this.buffer = Buffer.alloc(0)
    } else {
      this.buffer = Buffer.from(data.subarray(start))
      this.bufferOffset += start
      split.offset = this.bufferOffset
    }
    if (this.splits.length > 0) return 'more'
    return this.noMoreSplits ? 'end' : 'nothing-available'
  }

  isAvailable(): Promise<void> {
    if (this.splits.length > 0 || this.noMoreSplits) return Promise.resolve()
    return new Promise((resolve) => (this.waiting = resolve))
  }

  addSplits(splits: FileSplit[]): void {
    for (const s of splits) this.splits.push({ ...s })
    const w = this.waiting
    this.waiting = undefined
    w?.()
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true
    const w = this.waiting
    this.waiting = undefined
    w?.()
  }

  snapshotState(): FileSplit[] {
    return this.splits.map((s) => ({ ...s }))
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}

function listFiles(path: string): string[] {
  let stat
  try {
    stat = statSync(path)
  } catch (cause) {
    throw new WeirError('SOURCE_FILE_UNREADABLE', `File source path '${path}' does not exist or cannot be read`, { cause })
  }
  if (!stat.isDirectory()) return [path]
  return readdirSync(path)
    .filter((name) => !name.startsWith('.') && !name.startsWith('_'))
    .sort()
    .map((name) => join(path, name))
    .filter((p) => statSync(p).isFile())
}

/** Bounded sources reading files. */
export const FileSource = {
  /**
   * The lines of a file, or of every file in a directory (hidden files skipped). Each file is a
   * split; its position is a byte offset, so a restore resumes after the last line emitted.
   */
  lines(path: string): Source<string, FileSplit, FileSplit[]> {
    return {
      boundedness: 'bounded',
      createEnumerator: (context) => new StaticSplitEnumerator(context, listFiles(path).map((p) => ({ splitId: p, path: p, offset: 0 }))),
      restoreEnumerator: (context, state) => new StaticSplitEnumerator(context, state),
      createReader: () => new LineReader(),
    }
  },
}
