import { basename, extname } from 'node:path'
import { StreamEnvironment } from '../api/stream-environment.ts'
import type { LocalJob } from '../runtime/local-job.ts'
import { loadJob } from './load-job.ts'

/** Options of `weir run`. */
export interface RunOptions {
  parallelism?: number
  name?: string
  progress: boolean
}

interface OperatorTotals {
  name: string
  recordsIn: number
  recordsOut: number
}

function totals(job: LocalJob): OperatorTotals[] {
  const byName = new Map<string, OperatorTotals>()
  for (const task of job.tasks) {
    for (const m of task.metrics) {
      const key = `${m.uid}`
      let t = byName.get(key)
      if (!t) byName.set(key, (t = { name: m.operatorName, recordsIn: 0, recordsOut: 0 }))
      t.recordsIn += m.recordsIn
      t.recordsOut += m.recordsOut
    }
  }
  return [...byName.values()]
}

const format = new Intl.NumberFormat('en-US')

/** Runs a job module in this process, with a progress line every second and a summary at the end. */
export async function runJob(path: string, args: readonly string[], options: RunOptions, log: (line: string) => void): Promise<void> {
  const definition = await loadJob(path)
  const env = StreamEnvironment.create(options.parallelism ? { parallelism: options.parallelism } : {})
  await definition.build(env, args)
  const name = options.name ?? basename(path, extname(path))
  const job = env.executeAsync(name)
  const started = performance.now()
  const first = (): OperatorTotals | undefined => totals(job)[0]
  const timer = options.progress
    ? setInterval(() => {
        const source = first()
        const seconds = (performance.now() - started) / 1000
        if (source) log(`  ${seconds.toFixed(0)} s: ${format.format(source.recordsOut)} records read (${format.format(Math.round(source.recordsOut / seconds))}/s)`)
      }, 1000)
    : undefined
  try {
    const result = await job.result
    log(`Job '${name}' finished in ${(result.durationMs / 1000).toFixed(2)} s (parallelism ${env.config.parallelism}).`)
    for (const t of totals(job)) log(`  ${t.name.padEnd(24)} in ${format.format(t.recordsIn).padStart(12)}   out ${format.format(t.recordsOut).padStart(12)}`)
  } finally {
    if (timer) clearInterval(timer)
  }
}
