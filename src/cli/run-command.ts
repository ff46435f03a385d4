import { basename, extname } from 'node:path'
import { StreamEnvironment } from '../api/stream-environment.ts'
import type { LocalJob } from '../runtime/local-job.ts'
import { createLogger, engineLog, type LogLevel } from '../web/logger.ts'
import { JobRegistry } from '../web/job-registry.ts'
import { startWebServer, type WebServer } from '../web/server.ts'
import { loadJob } from './load-job.ts'

/** Options of `weir run`. */
export interface RunOptions {
  parallelism?: number
  name?: string
  progress: boolean
  /** Serve the REST API and dashboard while the job runs. */
  web?: boolean
  port?: number
  host?: string
  logLevel?: LogLevel
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
  const logger = createLogger(options.logLevel ?? 'info')
  // The server starts before the job, so a busy job cannot slow its start down.
  let web: { registry: JobRegistry; server: WebServer } | undefined
  if (options.web) {
    const registry = new JobRegistry()
    try {
      web = { registry, server: await startWebServer(registry, { port: options.port ?? 8081, host: options.host ?? '127.0.0.1', logger }) }
    } catch (error) {
      registry.close()
      throw error
    }
  }
  const job = env.executeAsync(name, { log: engineLog(logger, { name }) })
  logger.info({ jobId: job.jobId, job: name, parallelism: env.config.parallelism }, 'job started')
  if (web) {
    web.registry.register(job, { checkpointing: env.config.checkpointing !== undefined })
    log(`Web dashboard: ${web.server.url}/`)
  }
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
    logger.info({ jobId: job.jobId, job: name, durationMs: Math.round(result.durationMs), restarts: result.restarts }, 'job finished')
    log(`Job '${name}' finished in ${(result.durationMs / 1000).toFixed(2)} s (parallelism ${env.config.parallelism}).`)
    for (const t of totals(job)) log(`  ${t.name.padEnd(24)} in ${format.format(t.recordsIn).padStart(12)}   out ${format.format(t.recordsOut).padStart(12)}`)
  } catch (error) {
    const fields = { jobId: job.jobId, job: name, status: job.status, err: error }
    if (job.status === 'CANCELED') logger.warn(fields, 'job cancelled')
    else logger.error(fields, 'job failed')
    throw error
  } finally {
    if (timer) clearInterval(timer)
    if (web) {
      await web.server.close()
      web.registry.close()
    }
  }
}
