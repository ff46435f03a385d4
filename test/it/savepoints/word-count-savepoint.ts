import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import wordCount from '../../../examples/word-count.ts'
import { generateWords } from '../../../examples/word-count-input.ts'
import { StreamEnvironment, type Source, type SourceReader, type SourceSplit } from '../../../src/index.ts'

/** What `wordCountSavepoint` made. */
export interface WordCountSavepoint {
  /** The savepoint directory. */
  savepoint: string
  /** Every word of the input and its count, computed by a plain loop. */
  expected: Map<string, number>
  parallelism: number
}

/**
 * The same source, but it never ends: after its input it only waits. The word-count job ends with
 * its input (its timers fire at the end of time and empty nothing, but the job is gone), so to stop
 * it with a savepoint that holds every count, its input must stay open.
 */
function keepOpen<T, S extends SourceSplit>(source: Source<T, S, unknown>): Source<T, S, unknown> {
  return {
    boundedness: 'continuous',
    createEnumerator: (context) => source.createEnumerator(context),
    restoreEnumerator: (context, state) => source.restoreEnumerator(context, state),
    ...(source.splitSerializer ? { splitSerializer: source.splitSerializer } : {}),
    createReader(context): SourceReader<T, S> {
      const reader = source.createReader(context)
      let ended = false
      return {
        start: () => reader.start(),
        pollNext(output) {
          if (ended) return 'nothing-available'
          const status = reader.pollNext(output)
          if (status !== 'end') return status
          ended = true
          return 'nothing-available'
        },
        isAvailable: () => (ended ? new Promise<void>(() => {}) : reader.isAvailable()),
        addSplits: (splits) => reader.addSplits(splits),
        notifyNoMoreSplits: () => reader.notifyNoMoreSplits(),
        snapshotState: (id) => reader.snapshotState(id),
        close: () => reader.close(),
      }
    },
  }
}

/**
 * Runs the word-count example's job builder (examples/word-count.ts) on a small generated input,
 * waits until its 'count' operator has counted every word, and stops it with a savepoint.
 */
export async function wordCountSavepoint(root: string, options: { words?: number; parallelism?: number } = {}): Promise<WordCountSavepoint> {
  const words = generateWords(options.words ?? 3000, 400, 11)
  const parallelism = options.parallelism ?? 2
  const input = join(root, 'input')
  mkdirSync(input, { recursive: true })
  const lines: string[] = []
  for (let i = 0; i < words.length; i += 10) lines.push(words.slice(i, i + 10).join(' '))
  const half = Math.ceil(lines.length / 2)
  writeFileSync(join(input, 'a.txt'), `${lines.slice(0, half).join('\n')}\n`)
  writeFileSync(join(input, 'b.txt'), `${lines.slice(half).join('\n')}\n`)
  // As the example splits and lowercases, so the expected counts are those it must find.
  const expected = new Map<string, number>()
  let total = 0
  for (const line of lines) {
    for (const word of line.split(/\W+/)) {
      if (!word) continue
      const w = word.toLowerCase()
      expected.set(w, (expected.get(w) ?? 0) + 1)
      total++
    }
  }

  const env = StreamEnvironment.create({ parallelism })
  env.enableCheckpointing(3_600_000)
  const open = new Proxy(env, {
    get(target, property) {
      if (property === 'fromSource') return (source: Source<unknown, SourceSplit, unknown>, ...rest: [never, string]) => target.fromSource(keepOpen(source), ...rest)
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
  await wordCount.build(open, [input, join(root, 'out')])
  const job = env.executeAsync('word-count', { log: () => {} })
  const counted = (): number => job.tasks.flatMap((t) => t.metrics).filter((m) => m.operatorName === 'count').reduce((n, m) => n + m.recordsIn, 0)
  const deadline = Date.now() + 15_000
  while (counted() < total) {
    if (Date.now() > deadline) throw new Error(`the word-count job counted ${counted()} of ${total} words in 15 s`)
    await new Promise((r) => setTimeout(r, 10))
  }
  const handle = await job.stopWithSavepoint({ targetDirectory: join(root, 'savepoints') })
  await job.result
  return { savepoint: handle.pointer, expected, parallelism }
}
