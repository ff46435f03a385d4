/** Runs a Nexmark query as a Weir job or as its baseline loop; shared by the benchmark and the tests. */
import type { CheckpointStats, Sink, StateBackend } from '../../src/index.ts'
import { StreamEnvironment } from '../../src/index.ts'
import { BASELINES } from './baselines.ts'
import { DEFAULT_NEXMARK_CONFIG, NexmarkGenerator, type NexmarkConfig } from './generator.ts'
import { nexmarkStream, QUERIES, type QueryName } from './queries.ts'
import type { NexmarkProgress } from './source.ts'

/** How to run a query as a Weir job. */
export interface WeirRunOptions {
  events: number
  parallelism: number
  config?: NexmarkConfig
  /** Takes a checkpoint this often (ms); none when absent. */
  checkpointIntervalMs?: number
  /** Where checkpoints go: a directory, or memory by default. */
  checkpointDirectory?: string
  stateBackend?: StateBackend
  /** Where the query's rows go. */
  sink: Sink<unknown>
  progress?: NexmarkProgress
}

/** What a Weir run reports. */
export interface WeirRun {
  wallMs: number
  /** CPU time of this process (all threads) during the run. */
  cpuMs: number
  checkpoints: readonly CheckpointStats[]
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

/** Runs `query` over `events` Nexmark events in this process and waits for the end. */
export async function runWeir(query: QueryName, options: WeirRunOptions): Promise<WeirRun> {
  const env = StreamEnvironment.create({ parallelism: options.parallelism })
  if (options.stateBackend) env.setStateBackend(options.stateBackend)
  if (options.checkpointIntervalMs !== undefined) {
    env.enableCheckpointing(options.checkpointIntervalMs, options.checkpointDirectory ? { storage: { directory: options.checkpointDirectory } } : {})
  }
  const events = nexmarkStream(env, { events: options.events, config: options.config, progress: options.progress })
  QUERIES[query].build(events).sinkTo(options.sink, 'Sink').uid('sink')
  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  const job = env.executeAsync(`nexmark-${query}`, { log: (m) => process.stderr.write(`weir: ${m}\n`) })
  await job.result
  return { wallMs: performance.now() - wallStart, cpuMs: cpuMsSince(cpuStart), checkpoints: job.checkpoints }
}

/** How to run a baseline. */
export interface BaselineRunOptions {
  events: number
  config?: NexmarkConfig
  emit: (row: unknown) => void
  /** Called every 2^16 events with the count so far (the loop is synchronous: nothing else runs). */
  onProgress?: (events: number) => void
}

/** What a baseline run reports. */
export interface BaselineRun {
  wallMs: number
  cpuMs: number
}

/** Runs the baseline of `query`: generate each event and feed it to the loop body, in one thread. */
export function runBaseline(query: QueryName, options: BaselineRunOptions): BaselineRun {
  const generator = new NexmarkGenerator(options.config ?? DEFAULT_NEXMARK_CONFIG)
  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  const baseline = BASELINES[query](options.emit, { maxOutOfOrdernessMs: generator.maxOutOfOrdernessMs() })
  const n = options.events
  const onProgress = options.onProgress
  for (let p = 0; p < n; p++) {
    baseline.process(generator.event(p))
    if (onProgress && (p & 0xffff) === 0xffff) onProgress(p + 1)
  }
  baseline.finish()
  return { wallMs: performance.now() - wallStart, cpuMs: cpuMsSince(cpuStart) }
}

/** A sink that counts rows (per process: the local runner shares it between subtasks). */
export function countingSink(counter: { rows: number }): Sink<unknown> {
  return {
    createWriter: () => ({
      write: () => {
        counter.rows++
      },
      flush: () => {},
      close: () => {},
    }),
  }
}
