/**
 * Scale-up of the cluster runtime: a stateless job and a keyed job (bench/cluster-scale-job.ts)
 * on a cluster of task manager processes with one slot each, at parallelism 1 (one task manager
 * does the work) and 2 (two task managers; in the keyed job half of the records cross between
 * them over TCP). Prints events per second for each and the ratio, with the embedded runner (one
 * process) as the baseline a single task manager is compared with.
 *
 * Wall-clock figures need the cores to be free: on a machine busy with other work two processes
 * do not get two cores. So two more figures are printed: the ceiling (two independent jobs at
 * parallelism 1 at once, one per task manager, no records exchanged: what two processes get out
 * of this machine now), and events per CPU-second of the task managers (from /proc, on Linux),
 * which show what the second process costs, whatever the load.
 *
 *   npm run bench -- cluster-scale [stateless records] [keyed records] [runs]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StreamEnvironment } from '../src/index.ts'
import { bundleJob } from '../src/runtime/cluster/bundle.ts'
import { ClusterClient } from '../src/runtime/cluster/client.ts'
import { LocalCluster } from '../src/runtime/cluster/local-cluster.ts'
import job from './cluster-scale-job.ts'

const JOB = fileURLToPath(new URL('./cluster-scale-job.ts', import.meta.url))
const CLOCK_TICKS = 100

interface Run {
  /** Events per wall-clock second. */
  rate: number
  /** Events per CPU-second of the processes that ran the job; NaN where not measurable. */
  perCpu: number
}

/** CPU seconds a process has used, or NaN where /proc is not there. */
function cpuSeconds(pid: number): number {
  const file = `/proc/${pid}/stat`
  if (!existsSync(file)) return Number.NaN
  const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

async function onCluster(cluster: LocalCluster, client: ClusterClient, bundle: Uint8Array, kind: string, records: number, parallelism: number): Promise<Run> {
  const pids = cluster.taskManagers.map((t) => t.pid)
  const before = pids.map(cpuSeconds)
  const jobId = await client.submit({ name: `${kind}-p${parallelism}`, bundle, args: [kind, String(records)], parallelism })
  const result = await client.wait(jobId)
  if (result.status !== 'FINISHED') throw new Error(`${kind} at parallelism ${parallelism}: ${result.status} ${result.error?.message ?? ''}`)
  const cpu = pids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - before[i], 0)
  return { rate: records / (result.durationMs / 1000), perCpu: records / cpu }
}

async function embedded(kind: string, records: number): Promise<Run> {
  const env = StreamEnvironment.create({ parallelism: 1 })
  await job.build(env, [kind, String(records)])
  const cpu = process.cpuUsage()
  const started = performance.now()
  await env.execute(kind)
  const used = process.cpuUsage(cpu)
  return { rate: records / ((performance.now() - started) / 1000), perCpu: records / ((used.user + used.system) / 1e6) }
}

/** Two jobs at parallelism 1 at once, one on each task manager: events per second of both together. */
async function ceiling(cluster: LocalCluster, client: ClusterClient, bundle: Uint8Array, kind: string, records: number): Promise<number> {
  const half = Math.floor(records / 2)
  const started = performance.now()
  const ids = await Promise.all([0, 1].map((i) => client.submit({ name: `${kind}-ceiling-${i}`, bundle, args: [kind, String(half)], parallelism: 1 })))
  const results = await Promise.all(ids.map((id) => client.wait(id)))
  if (results.some((r) => r.status !== 'FINISHED')) throw new Error(`${kind} ceiling: ${results.map((r) => r.status).join(', ')}`)
  return (2 * half) / ((performance.now() - started) / 1000)
}

function best(runs: Run[]): Run {
  return { rate: Math.max(...runs.map((r) => r.rate)), perCpu: Math.max(...runs.map((r) => r.perCpu)) }
}

function millions(eventsPerSecond: number): string {
  return Number.isNaN(eventsPerSecond) ? '-' : `${(eventsPerSecond / 1e6).toFixed(2)} M`
}

/** Runs the benchmark and prints its figures. */
export async function run(args: string[]): Promise<void> {
  const records: Record<string, number> = { stateless: Number(args[0] ?? 60_000_000), keyed: Number(args[1] ?? 10_000_000) }
  const runs = Number(args[2] ?? 3)
  const root = mkdtempSync(join(tmpdir(), 'weir-bench-cluster-'))
  const cluster = await LocalCluster.start({ taskManagers: 2, slots: 1, checkpointDir: join(root, 'checkpoints'), logDir: join(root, 'logs'), logLevel: 'warn' })
  const client = await ClusterClient.connect(cluster.address)
  try {
    const bundle = await bundleJob(JOB)
    console.log(`cluster scale-up: task managers with one slot each; ${cpus().length} CPU cores, load average ${loadavg()[0].toFixed(1)} at the start; best of ${runs} runs`)
    const header = ['job', 'records', 'embedded', '1 TM', '2 TMs', '2 TMs / 1 TM', 'ceiling', 'ceiling / 1 TM']
    const widths = [10, 12, 10, 10, 10, 12, 10, 14]
    const row = (cells: string[]): string => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`
    console.log(row(header))
    const perCpu: string[] = []
    for (const kind of ['stateless', 'keyed']) {
      const n = records[kind]
      // Warm-up: both task managers compile the job's hot paths before anything is timed.
      await onCluster(cluster, client, bundle, kind, Math.floor(n / 10), 2)
      const base: Run[] = []
      const one: Run[] = []
      const two: Run[] = []
      let top = 0
      for (let i = 0; i < runs; i++) {
        base.push(await embedded(kind, n))
        one.push(await onCluster(cluster, client, bundle, kind, n, 1))
        two.push(await onCluster(cluster, client, bundle, kind, n, 2))
        top = Math.max(top, await ceiling(cluster, client, bundle, kind, n))
      }
      const [b, o, t] = [best(base), best(one), best(two)]
      const cells = [kind, n.toLocaleString('en-US'), `${millions(b.rate)}/s`, `${millions(o.rate)}/s`, `${millions(t.rate)}/s`, `${(t.rate / o.rate).toFixed(2)}x`]
      console.log(row([...cells, `${millions(top)}/s`, `${(top / o.rate).toFixed(2)}x`]))
      perCpu.push(row([kind, '', millions(b.perCpu), millions(o.perCpu), millions(t.perCpu), `${(t.perCpu / o.perCpu).toFixed(2)}`]))
    }
    console.log('events per CPU-second of the processes that ran the job (1.00 in the last column: the second task manager costs nothing extra)')
    for (const line of perCpu) console.log(line)
    console.log(`load average ${loadavg()[0].toFixed(1)} at the end`)
  } finally {
    client.close()
    await cluster.stop()
    rmSync(root, { recursive: true, force: true })
  }
}
