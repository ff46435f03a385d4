import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createProgram } from '../../../src/cli/main.ts'
import { inspectSavepoint } from '../../../src/cli/savepoint-command.ts'
import { WeirError } from '../../../src/index.ts'
import { wordCountSavepoint, type WordCountSavepoint } from './word-count-savepoint.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-inspect-'))
after(() => rmSync(root, { recursive: true, force: true }))
let fixture: WordCountSavepoint

before(async () => {
  fixture = await wordCountSavepoint(root)
})

/** Runs the `weir` command line in this process (as bin/weir.js does) and returns what it printed. */
async function weir(...args: string[]): Promise<string> {
  const printed: string[] = []
  const log = console.log
  console.log = (...parts: unknown[]) => void printed.push(parts.join(' '))
  try {
    await createProgram().exitOverride().parseAsync(['node', 'weir', ...args])
  } finally {
    console.log = log
  }
  return printed.map((line) => `${line}\n`).join('')
}

test('weir savepoint inspect prints the job, the operators and the word-count state with its keys and sizes per key-group range', async () => {
  const text = await weir('savepoint', 'inspect', fixture.savepoint)
  const lines = text.trimEnd().split('\n')
  assert.deepEqual(lines, await inspectSavepoint(fixture.savepoint))

  assert.match(lines[0], /^Savepoint .*savepoint-/)
  assert.match(text, /^ {2}job: +word-count \(id [0-9a-f-]+\)$/m)
  assert.match(text, /^ {2}checkpoint id: +\d+$/m)
  assert.match(text, /^ {2}format version: 1 \(_metadata\); state files: version 1$/m)
  // Every operator of the job is listed, with or without state.
  for (const name of ['lines', 'split', 'count', 'sink']) assert.match(text, new RegExp(`^Operator uid '[^']+' \\(name '${name}'\\)$`, 'm'))

  const count = text.slice(text.indexOf("Operator uid 'count'"), text.indexOf("Operator uid 'sink'"))
  assert.match(count, /^ {2}parallelism 2, max parallelism 128$/m)
  assert.match(count, /^ {4}subtask 0 {2}count-0\.state {2}[\d.]+ (B|KiB) {2}key groups 0-63 {2}sha256 [0-9a-f]{12}…$/m)
  assert.match(count, /^ {4}subtask 1 {2}count-1\.state {2}[\d.]+ (B|KiB) {2}key groups 64-127 {2}sha256 [0-9a-f]{12}…$/m)
  assert.match(count, /^ {2}keyed state 'count'$/m)
  assert.match(count, /^ {4}kind: value$/m)
  assert.match(count, /^ {4}serializers: value number v1, namespace void v1$/m)
  // Bytes of the state: per word, its key (tag, length, UTF-8) and its 8-byte count; no namespace bytes.
  let bytes = 0
  for (const word of fixture.expected.keys()) bytes += 5 + Buffer.byteLength(word) + 8
  assert.match(count, new RegExp(`^ {4}keys: ${fixture.expected.size}, entries: ${fixture.expected.size}, bytes: ${bytes} \\(`, 'm'))
  const ranges = [...count.matchAll(/^ {4}key groups (\d+)-(\d+) \(subtask (\d)\): (\d+) keys, (\d+) entries, (\d+) bytes .* in (\d+) key groups$/gm)]
  assert.deepEqual(
    ranges.map((r) => [Number(r[1]), Number(r[2]), Number(r[3])]),
    [
      [0, 63, 0],
      [64, 127, 1],
    ],
  )
  assert.equal(ranges.reduce((n, r) => n + Number(r[4]), 0), fixture.expected.size)
  assert.equal(ranges.reduce((n, r) => n + Number(r[6]), 0), bytes)
  assert.match(count, new RegExp(`^ {2}timers: ${fixture.expected.size} in services 'user-timers' \\(namespace void\\)$`, 'm'))

  await assert.rejects(weir('savepoint', 'inspect', join(root, 'no-such-savepoint')), (e: unknown) => e instanceof WeirError && e.code === 'CHECKPOINT_FILE_MISSING')
})

test('--json gives the same summary as data', async () => {
  const [json] = await inspectSavepoint(fixture.savepoint, { json: true })
  const parsed = JSON.parse(json) as { metadata: { jobName: string }; operators: { operator: { uid: string }; statistics: { keyedStates: { keys: number }[] } }[] }
  assert.equal(parsed.metadata.jobName, 'word-count')
  assert.equal(parsed.operators.find((o) => o.operator.uid === 'count')?.statistics.keyedStates[0].keys, fixture.expected.size)
})
