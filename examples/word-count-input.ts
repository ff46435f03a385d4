import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** A small deterministic generator (mulberry32), so every run counts the same words. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'we', 'yu', 'zo', 'ba', 'de', 'fi', 'go', 'hu']

/** `count` words with a skewed (Zipf-like) distribution over a vocabulary of `vocabulary` words. */
export function generateWords(count: number, vocabulary = 5000, seed = 42): string[] {
  const random = seededRandom(seed)
  const words = Array.from({ length: vocabulary }, (_, i) => {
    let w = ''
    for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) w += SYLLABLES[n % SYLLABLES.length]
    return w
  })
  const out: string[] = new Array<string>(count)
  for (let i = 0; i < count; i++) out[i] = words[Math.floor(vocabulary * random() ** 3)]
  return out
}

/** Writes the words as lines of ten words, once; returns the path. */
export function ensureInputFile(path: string, count: number): string {
  if (existsSync(path)) return path
  mkdirSync(dirname(path), { recursive: true })
  const words = generateWords(count)
  const lines: string[] = []
  for (let i = 0; i < words.length; i += 10) lines.push(words.slice(i, i + 10).join(' '))
  writeFileSync(path, `${lines.join('\n')}\n`)
  return path
}
