/**
 * `npm run bench -- nexmark [--query q5] [--events N] [--parallelism P] [--checkpoint-interval ms]
 * [--state heap|rocksdb]`: runs Nexmark queries as Weir jobs and as plain-loop baselines over the
 * same generated events, and prints events per second per core of each, their ratio, and the same
 * with checkpoints. Each query is measured in a child process of its own.
 */
import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BackendUnavailableError, loadStateBackend } from './backends.ts'
import { measureQuery, type MeasureSpec, type QueryFigures } from './measure.ts'
import { QUERIES, QUERY_NAMES, type QueryName } from './queries.ts'

const USAGE = `usage: npm run bench -- nexmark [options]
  --query q5[,q7]            queries to run (repeatable; default: all of ${QUERY_NAMES.join(' ')})
  --events N                 events per run (default 1M; 1e6, 500k and 2M are understood)
  --parallelism P            parallelism of every operator (default 1)
  --checkpoint-interval MS   interval of the run with checkpoints (default 1000; 0 skips that run)
  --state heap|rocksdb       keyed state backend (default heap)
  --rate R                   events per second of event time (default 10000, the reference's default)
  --warmup-events N          events of the warm-up runs before measuring (default 200k)
  --repeat N                 rounds of measured runs; figures are the median round's (default 1)
  --in-process               measure in this process instead of a child per query (for --cpu-prof)
  --json FILE                also write the figures as JSON`

/** Thrown for bad arguments: printed with the usage. */
class UsageError extends Error {}

/** `parseArgs` reports unknown options and missing values with these codes. */
function isParseArgsError(error: unknown): error is Error {
  return error instanceof Error && String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')
}

function parseCount(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec(text.replace(/_/g, ''))
  if (!m) throw new UsageError(`${option} needs a number, got '${text}'`)
  const value = Number(m[1]) * (m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1e3 : 1e6)
  if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`${option} needs a whole number >= 0, got '${text}'`)
  return value
}

interface Settings {
  queries: QueryName[]
  spec: Omit<MeasureSpec, 'query'>
  inProcess: boolean
  json: string | undefined
}

function parseSettings(args: string[]): Settings | undefined {
  const { values } = parseArgs({
    args,
    options: {
      query: { type: 'string', multiple: true },
      events: { type: 'string', default: '1M' },
      parallelism: { type: 'string', default: '1' },
      'checkpoint-interval': { type: 'string', default: '1000' },
      state: { type: 'string', default: 'heap' },
      rate: { type: 'string', default: '10000' },
      'warmup-events': { type: 'string', default: '200k' },
      repeat: { type: 'string', default: '1' },
      'in-process': { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    return undefined
  }
  const queries = (values.query ?? QUERY_NAMES).flatMap((q) => q.split(',')).map((q) => q.trim().toLowerCase())
  for (const q of queries) if (!(q in QUERIES)) throw new UsageError(`unknown query '${q}'; known: ${QUERY_NAMES.join(', ')}`)
  const parallelism = parseCount(values.parallelism, '--parallelism')
  if (parallelism < 1) throw new UsageError('--parallelism must be at least 1')
  const rate = parseCount(values.rate, '--rate')
  if (rate < 1) throw new UsageError('--rate must be at least 1')
  const state = values.state
  if (state !== 'heap' && state !== 'rocksdb') throw new UsageError(`--state must be heap or rocksdb, got '${state}'`)
  return {
    queries: queries as QueryName[],
    spec: {
      events: parseCount(values.events, '--events'),
      parallelism,
      checkpointIntervalMs: parseCount(values['checkpoint-interval'], '--checkpoint-interval'),
      state,
      rate,
      warmupEvents: parseCount(values['warmup-events'], '--warmup-events'),
      repeat: Math.max(1, parseCount(values.repeat, '--repeat')),
    },
    inProcess: values['in-process'],
    json: values.json,
  }
}

/** 155.02 K/s style, as the reference's result table. */
function rate(eventsPerSecond: number): string {
  if (!Number.isFinite(eventsPerSecond)) return '-'
  if (eventsPerSecond >= 1e6) return `${(eventsPerSecond / 1e6).toFixed(2)} M/s`
  return `${(eventsPerSecond / 1e3).toFixed(1)} K/s`
}

function bytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`
  return `${Math.round(n)} B`
}

function perCore(events: number, cpuMs: number): number {
  return events / (cpuMs / 1000)
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(0)}%`
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2)
}

function count(n: number): string {
  return n.toLocaleString('en-US')
}

/** Runs one query in a child process, relaying its progress. */
function measureInChild(spec: MeasureSpec, onProgress: (phase: string, events: number, total: number) => void): Promise<QueryFigures> {
  const child = fork(fileURLToPath(new URL('./child.ts', import.meta.url)), [JSON.stringify(spec)], {
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    let settled = false
    child.on('message', (message: { type: string; phase: string; events: number; total: number; figures: QueryFigures; message: string }) => {
      if (message.type === 'progress') onProgress(message.phase, message.events, message.total)
      else if (message.type === 'result') {
        settled = true
        resolve(message.figures)
      } else if (message.type === 'error') {
        settled = true
        reject(new Error(message.message))
      }
    })
    child.on('exit', (code, signal) => {
      if (!settled) reject(new Error(`the measuring process of ${spec.query} exited (${signal ?? `code ${code}`}) without a result`))
    })
  })
}

function rowCheck(f: QueryFigures): string {
  // Processing-time windows depend on the wall clock, so only event-time queries can be compared.
  if (f.query === 'q12') return 'n/a'
  const runs = [f.weir, ...(f.checkpointed ? [f.checkpointed] : [])]
  return runs.every((r) => r.rows === f.baseline.rows) ? 'same' : 'DIFFERENT'
}

function printTable(results: QueryFigures[], spec: Settings['spec']): void {
  const head = ['query', 'events', 'Weir s', 'Weir ev/s/core', 'baseline s', 'baseline ev/s/core', 'Weir/baseline']
  if (spec.checkpointIntervalMs > 0) head.push(`ckpt ${spec.checkpointIntervalMs} ms: s`, 'ev/s/core', 'vs no ckpt', 'checkpoints', 'mean size', 'CPU ms each')
  head.push('rows', 'rows vs baseline')
  const rows = results.map((f) => {
    const weir = perCore(f.events, f.weir.cpuMs)
    const base = perCore(f.events, f.baseline.cpuMs)
    const row = [f.query, count(f.events), seconds(f.weir.wallMs), rate(weir), seconds(f.baseline.wallMs), rate(base), percent(weir / base)]
    if (spec.checkpointIntervalMs > 0) {
      const c = f.checkpointed
      if (c) {
        const withCkpt = perCore(f.events, c.cpuMs)
        // Extra CPU of the run with checkpoints per checkpoint: unlike the ratio, it does not grow
        // when a busy machine stretches the run and so fits in more checkpoints.
        const each = c.checkpoints.completed > 0 ? ((c.cpuMs - f.weir.cpuMs) / c.checkpoints.completed).toFixed(0) : '-'
        row.push(seconds(c.wallMs), rate(withCkpt), `${withCkpt >= weir ? '+' : ''}${(((withCkpt - weir) / weir) * 100).toFixed(0)}%`, String(c.checkpoints.completed), bytes(c.checkpoints.meanBytes), each)
      } else row.push('-', '-', '-', '-', '-', '-')
    }
    row.push(count(f.weir.rows), rowCheck(f))
    return row
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`
  console.log(line(head))
  console.log(`|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`)
  for (const r of rows) console.log(line(r))
}

/** Runs the benchmark with the command-line arguments after `nexmark`. */
export async function run(args: string[]): Promise<void> {
  let settings: Settings | undefined
  try {
    settings = parseSettings(args)
    if (!settings) return
    await loadStateBackend(settings.spec.state)
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      console.error(`nexmark: ${error.message}\n${USAGE}`)
      process.exitCode = 2
      return
    }
    if (error instanceof BackendUnavailableError) {
      console.error(`nexmark: ${error.message}`)
      process.exitCode = 2
      return
    }
    throw error
  }
  const { queries, spec } = settings
  const cpu = cpus()
  console.log(
    `Nexmark: ${count(spec.events)} events per run${spec.repeat > 1 ? ` (median of ${spec.repeat} rounds)` : ''}, parallelism ${spec.parallelism}, ${spec.state} state, ${count(spec.rate)} events/s of event time; ` +
      `node ${process.version}, ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'})`,
  )
  console.log('per core = events / CPU seconds of the process (user + system, all threads), as the reference reports throughput per core')
  const results: QueryFigures[] = []
  const started = performance.now()
  for (const query of queries) {
    const querySpec: MeasureSpec = { ...spec, query }
    const onProgress = (phase: string, events: number, total: number): void => {
      console.log(`  ${query} ${phase}: ${count(events)} / ${count(total)} events`)
    }
    const figures = settings.inProcess ? await measureQuery(querySpec, onProgress, await loadStateBackend(spec.state)) : await measureInChild(querySpec, onProgress)
    results.push(figures)
    const weir = perCore(figures.events, figures.weir.cpuMs)
    const base = perCore(figures.events, figures.baseline.cpuMs)
    const ckpt = figures.checkpointed
      ? `; with checkpoints ${rate(perCore(figures.events, figures.checkpointed.cpuMs))} per core, ${figures.checkpointed.checkpoints.completed} checkpoints of ${bytes(figures.checkpointed.checkpoints.meanBytes)} on average`
      : ''
    console.log(`${query} (${QUERIES[query].summary}): Weir ${rate(weir)} per core, baseline ${rate(base)} per core, ${percent(weir / base)}${ckpt}; rows ${rowCheck(figures)}`)
  }
  console.log(`\nall queries in ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
  printTable(results, spec)
  if (settings.json) writeFileSync(settings.json, `${JSON.stringify({ settings: spec, node: process.version, cores: cpu.length, results }, null, 2)}\n`)
}
