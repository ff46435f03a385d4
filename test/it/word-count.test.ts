import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import wordCount from '../../examples/word-count.ts'
import { generateWords } from '../../examples/word-count-input.ts'
import { StreamEnvironment } from '../../src/index.ts'

const WORDS = 1_000_000
let dir: string
let expected: Map<string, number>

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'weir-wc-'))
  const words = generateWords(WORDS, 5000, 7)
  expected = new Map()
  for (const w of words) expected.set(w, (expected.get(w) ?? 0) + 1)
  // Four files, so four readers have work at parallelism 4.
  const perFile = WORDS / 4
  for (let f = 0; f < 4; f++) {
    const lines: string[] = []
    for (let i = f * perFile; i < (f + 1) * perFile; i += 10) lines.push(words.slice(i, i + 10).join(' '))
    writeFileSync(join(dir, `in-${f}.txt`), `${lines.join('\n')}\n`)
  }
})

after(() => rmSync(dir, { recursive: true, force: true }))

function readCounts(out: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const file of readdirSync(out)) {
    for (const line of readFileSync(join(out, file), 'utf8').split('\n')) {
      if (!line) continue
      const [word, n] = line.split(' ')
      assert.equal(counts.has(word), false, `word '${word}' written twice`)
      counts.set(word, Number(n))
    }
  }
  return counts
}

for (const parallelism of [1, 4]) {
  test(`word count of ${WORDS} words at parallelism ${parallelism} equals a plain loop`, async () => {
    const env = StreamEnvironment.create({ parallelism })
    const out = join(dir, `out-${parallelism}`)
    await wordCount.build(env, [dir, out])
    await env.execute(`word-count-${parallelism}`)
    const counts = readCounts(out)
    assert.equal(counts.size, expected.size)
    assert.deepEqual(counts, expected)
  })
}
