/**
 * A parser of the Prometheus text exposition format (version 0.0.4), strict enough for tests: every
 * line must be a comment, HELP, TYPE or a sample, label values must be well-formed quoted strings,
 * samples must belong to a declared family, and values must be numbers.
 */

/** One sample: `name{labels} value`. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** A metric family: its TYPE, HELP and samples (including _bucket/_sum/_count of histograms). */
export interface Family {
  name: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help: string
  samples: Sample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

function parseValue(text: string, line: number): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  const v = Number(text)
  if (text === '' || Number.isNaN(v)) throw new Error(`line ${line}: '${text}' is not a number`)
  return v
}

function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {}
  let i = 0
  for (;;) {
    while (text[i] === ' ') i++
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) }
    const eq = text.indexOf('=', i)
    if (eq < 0) throw new Error(`line ${line}: label without '='`)
    const name = text.slice(i, eq).trim()
    if (!LABEL.test(name)) throw new Error(`line ${line}: bad label name '${name}'`)
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label ${name} is not quoted`)
    let value = ''
    let j = eq + 2
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j]
        value += next === 'n' ? '\n' : next
      } else value += text[j]
    }
    if (j >= text.length) throw new Error(`line ${line}: unterminated label value`)
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`)
    labels[name] = value
    i = j + 1
    if (text[i] === ',') i++
  }
}

/** Parses a whole exposition into families by name. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const familyOf = (sample: string): Family | undefined => {
    for (const suffix of ['', '_bucket', '_sum', '_count']) {
      if (suffix && !sample.endsWith(suffix)) continue
      const f = families.get(sample.slice(0, sample.length - suffix.length))
      if (f && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return f
    }
    return undefined
  }
  text.split('\n').forEach((raw, index) => {
    const line = index + 1
    if (raw.trim() === '') return
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw)
      if (!m) return
      const [, kind, name, rest] = m
      if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name '${name}'`)
      let f = families.get(name)
      if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }))
      if (kind === 'HELP') f.help = rest
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`line ${line}: unknown type '${rest}'`)
        f.type = rest as Family['type']
      }
      return
    }
    const nameEnd = raw.search(/[{ ]/)
    if (nameEnd <= 0) throw new Error(`line ${line}: no sample name in '${raw}'`)
    const name = raw.slice(0, nameEnd)
    if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name '${name}'`)
    let labels: Record<string, string> = {}
    let rest = raw.slice(nameEnd)
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest.slice(1), line))
    const parts = rest.trim().split(/\s+/)
    if (parts.length < 1 || parts.length > 2) throw new Error(`line ${line}: expected a value (and a timestamp) after the labels: '${rest}'`)
    const family = familyOf(name)
    if (!family) throw new Error(`line ${line}: sample ${name} has no TYPE`)
    family.samples.push({ name, labels, value: parseValue(parts[0], line) })
  })
  return families
}

/** The samples of a family whose labels include `match`. */
export function samples(families: Map<string, Family>, name: string, match: Record<string, string> = {}): Sample[] {
  const family = families.get(name.replace(/_(bucket|sum|count)$/, '')) ?? families.get(name)
  if (!family) return []
  return family.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
}
