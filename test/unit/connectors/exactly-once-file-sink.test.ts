import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SinkWriter, SinkWriterContext } from '../../../src/api/connector/sink.ts'
import {
  cleanupFileSinkLeftovers,
  ExactlyOnceFileSink,
  readCommittedLines,
  type FileCommittable,
} from '../../../src/connectors/sinks/exactly-once-file-sink.ts'
import { WeirError } from '../../../src/errors.ts'

let root: string
let n = 0

async function freshDir(): Promise<string> {
  const dir = join(root, `out-${n++}`)
  await mkdir(dir)
  return dir
}

function context(subtaskIndex: number, attemptId = 'attempt0', parallelism = 2): SinkWriterContext {
  return { jobId: 'job', operatorName: 'sink', subtaskIndex, parallelism, maxParallelism: 128, attemptNumber: 0, attemptId }
}

/** What a sink operator does on a barrier: flush, then prepare the commit. */
async function barrier<T>(writer: SinkWriter<T, FileCommittable>, checkpointId: number): Promise<FileCommittable[]> {
  await writer.flush(false)
  return writer.prepareCommit!(checkpointId)
}

function writeAll<T>(writer: SinkWriter<T, FileCommittable>, values: T[]): void {
  for (const v of values) writer.write(v, undefined)
}

const visible = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => !name.startsWith('.')).sort()
const hidden = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => name.startsWith('.')).sort()

describe('ExactlyOnceFileSink', () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'weir-file-sink-'))
  })
  after(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('makes nothing visible before commit, and everything after', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<string>(dir)
    const writer = sink.createWriter(context(0))
    writeAll(writer, ['a', 'b', 'c'])
    await writer.flush(false)
    assert.deepEqual(await visible(dir), [])
    assert.match((await hidden(dir))[0], /^\.part-0-attempt0-0\.inprogress$/)
    const committables = await barrier(writer, 1)
    assert.deepEqual(committables, [{ pendingPath: join(dir, '.part-0-attempt0-0.pending'), finalPath: join(dir, 'part-0-1-0') }])
    assert.deepEqual(await visible(dir), [])
    assert.deepEqual(readCommittedLines(dir), [])
    await sink.createCommitter().commit(committables)
    assert.deepEqual(await visible(dir), ['part-0-1-0'])
    assert.deepEqual(await hidden(dir), [])
    assert.deepEqual(readCommittedLines(dir), ['a', 'b', 'c'])
    await writer.close()
  })

  it('formats non-strings as JSON by default, or with the given format', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<{ k: string; n: number }>(dir, { format: (v) => `${v.k}=${v.n}` })
    const writer = sink.createWriter(context(0))
    writeAll(writer, [{ k: 'x', n: 1 }])
    await sink.createCommitter().commit(await barrier(writer, 1))
    const plain = new ExactlyOnceFileSink<{ k: string }>(await freshDir())
    const w2 = plain.createWriter(context(0))
    writeAll(w2, [{ k: 'y' }])
    await plain.createCommitter().commit(await barrier(w2, 1))
    assert.deepEqual(readCommittedLines(dir), ['x=1'])
    assert.deepEqual(readCommittedLines(plain.dir), ['{"k":"y"}'])
  })

  it('commits idempotently: twice is fine, and a commit that already happened is recognised', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<string>(dir)
    const writer = sink.createWriter(context(1))
    writeAll(writer, ['x', 'y'])
    const committables = await barrier(writer, 4)
    const committer = sink.createCommitter()
    await committer.commit(committables)
    await committer.commit(committables)
    // A new attempt re-commits what it found in the checkpoint.
    await new ExactlyOnceFileSink<string>(dir).createCommitter().commit(committables)
    assert.deepEqual(readCommittedLines(dir), ['x', 'y'])
  })

  it('refuses a commit whose pending and final files are both gone, naming the file', async () => {
    const dir = await freshDir()
    const committer = new ExactlyOnceFileSink<string>(dir).createCommitter()
    const lost = { pendingPath: join(dir, '.part-0-a-0.pending'), finalPath: join(dir, 'part-0-9-0') }
    await assert.rejects(async () => committer.commit([lost]), (error: unknown) => error instanceof WeirError && error.code === 'SINK_COMMIT_FAILED' && error.message.includes(lost.finalPath) && error.message.includes(lost.pendingPath))
  })

  it('creates no file for a checkpoint interval without records', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<string>(dir)
    const writer = sink.createWriter(context(0))
    assert.deepEqual(await barrier(writer, 1), [])
    writeAll(writer, ['only in 2'])
    const second = await barrier(writer, 2)
    assert.deepEqual(await barrier(writer, 3), [])
    await sink.createCommitter().commit(second)
    assert.deepEqual(await readdir(dir), ['part-0-2-0'])
    await writer.close()
  })

  it('gives unique final names across subtasks and checkpoints, read back in checkpoint order', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<string>(dir)
    const writers = [0, 1].map((i) => sink.createWriter(context(i)))
    const committer = sink.createCommitter()
    const expected: string[] = []
    for (let checkpoint = 1; checkpoint <= 11; checkpoint++) {
      const all: FileCommittable[] = []
      for (const [i, writer] of writers.entries()) {
        writeAll(writer, [`s${i}-c${checkpoint}`])
        all.push(...(await barrier(writer, checkpoint)))
      }
      await committer.commit(all)
    }
    for (const i of [0, 1]) for (let c = 1; c <= 11; c++) expected.push(`s${i}-c${c}`)
    const names = await visible(dir)
    assert.equal(new Set(names).size, 22)
    assert.deepEqual(readCommittedLines(dir), expected)
  })

  it('rolls to a new part file at the size limit, all committed with their checkpoint', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<string>(dir, { rollAtBytes: 100, bufferChars: 30 })
    const writer = sink.createWriter(context(0))
    const lines = Array.from({ length: 50 }, (_, i) => `line-${String(i).padStart(3, '0')}`)
    writeAll(writer, lines)
    const committables = await barrier(writer, 3)
    assert.ok(committables.length > 3, `rolled into ${committables.length} files`)
    assert.deepEqual(
      committables.map((c) => c.finalPath),
      committables.map((_, i) => join(dir, `part-0-3-${i}`)),
    )
    assert.deepEqual(await visible(dir), [])
    await sink.createCommitter().commit(committables)
    assert.deepEqual(readCommittedLines(dir), lines)
  })

  it('after a crash, keeps what the restored checkpoint committed and removes every leftover of the failed attempt', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<string>(dir, { bufferChars: 8 })
    const writer = sink.createWriter(context(0, 'first'))
    writeAll(writer, ['c1-a', 'c1-b'])
    const checkpoint1 = await barrier(writer, 1)
    writeAll(writer, ['c2-a'])
    // Checkpoint 2's barrier passes the sink, but the checkpoint never completes.
    await barrier(writer, 2)
    // Records after that are in a half-written in-progress file when the process dies (no close).
    writeAll(writer, ['after-2-a', 'after-2-b', 'after-2-c'])
    await writer.flush(false)
    assert.deepEqual(await hidden(dir), ['.part-0-first-0.pending', '.part-0-first-1.pending', '.part-0-first-2.inprogress'])

    // Restore from checkpoint 1: its committables are kept, everything else hidden goes.
    const removed = await cleanupFileSinkLeftovers(dir, checkpoint1)
    assert.deepEqual(removed.sort(), [join(dir, '.part-0-first-1.pending'), join(dir, '.part-0-first-2.inprogress')])
    await sink.createCommitter().commit(checkpoint1)
    assert.deepEqual(await readdir(dir), ['part-0-1-0'])
    assert.deepEqual(readCommittedLines(dir), ['c1-a', 'c1-b'])
    assert.deepEqual(await cleanupFileSinkLeftovers(dir, []), [])
  })

  it('abortLeftovers spares the files of the current attempt', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<string>(dir)
    const old = sink.createWriter(context(0, 'old-run'))
    writeAll(old, ['lost'])
    await barrier(old, 5)
    writeAll(old, ['lost too'])
    await old.flush(false)
    // The new run's subtask 1 started writing before subtask 0 aborted the leftovers.
    const current = sink.createWriter(context(1, 'new-run'))
    writeAll(current, ['kept'])
    await current.flush(false)
    await sink.abortLeftovers(context(0, 'new-run'))
    assert.deepEqual(await hidden(dir), ['.part-1-new-run-0.inprogress'])
    await sink.createCommitter().commit(await barrier(current, 6))
    assert.deepEqual(readCommittedLines(dir), ['kept'])
  })

  it('cleans up nothing in a directory that does not exist yet, and ignores files that are not its own', async () => {
    assert.deepEqual(await cleanupFileSinkLeftovers(join(root, 'never-created'), []), [])
    const dir = await freshDir()
    await writeFile(join(dir, '.gitkeep'), '')
    await writeFile(join(dir, 'part-0-1-0'), 'committed\n')
    assert.deepEqual(await cleanupFileSinkLeftovers(dir, []), [])
    assert.deepEqual((await readdir(dir)).sort(), ['.gitkeep', 'part-0-1-0'])
  })

  it('never exposes a partial line: final files only ever hold whole lines', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<string>(dir, { bufferChars: 64, rollAtBytes: 4096 })
    const committer = sink.createCommitter()
    const writer = sink.createWriter(context(0))
    const expected: string[] = []
    for (let checkpoint = 1; checkpoint <= 5; checkpoint++) {
      const batch = Array.from({ length: 300 }, (_, i) => `c${checkpoint}-${i}-${'x'.repeat(i % 37)}`)
      writeAll(writer, batch)
      expected.push(...batch)
      await committer.commit(await barrier(writer, checkpoint))
    }
    // Background writes of an interval that never reaches a checkpoint stay hidden.
    writeAll(writer, Array.from({ length: 100 }, (_, i) => `uncommitted-${i}`))
    await writer.flush(false)
    for (const name of await visible(dir)) {
      const text = await readFile(join(dir, name), 'utf8')
      assert.ok(text.endsWith('\n'), `${name} ends with a newline`)
    }
    assert.deepEqual(readCommittedLines(dir), expected)
    await writer.close()
    assert.deepEqual(await hidden(dir), [], 'close removes the uncommitted in-progress file')
  })

  it('reports a write failure at the next flush, naming the directory', async () => {
    const dir = await freshDir()
    const blocked = join(dir, 'not-a-dir')
    await writeFile(blocked, 'a file where the output directory should be')
    const writer = new ExactlyOnceFileSink<string>(blocked).createWriter(context(0))
    writeAll(writer, ['a'])
    await assert.rejects(async () => writer.flush(false), (error: unknown) => error instanceof WeirError && error.code === 'SINK_WRITE_FAILED' && error.message.includes(blocked))
    assert.throws(() => writer.write('b', undefined), WeirError)
    await writer.close()
  })

  it('commits the rest at end of input', async () => {
    const dir = await freshDir()
    const sink = new ExactlyOnceFileSink<string>(dir)
    const writer = sink.createWriter(context(0))
    writeAll(writer, ['last'])
    await writer.flush(true)
    await sink.createCommitter().commit(await writer.prepareCommit!(Number.MAX_SAFE_INTEGER))
    await writer.close()
    assert.deepEqual(readCommittedLines(dir), ['last'])
  })

  it('reading committed lines of a damaged final file fails loudly', async () => {
    const dir = await freshDir()
    await writeFile(join(dir, 'part-0-1-0'), 'whole\npart')
    assert.throws(() => readCommittedLines(dir), /partial line/)
  })
})
