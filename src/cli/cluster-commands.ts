import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, extname, join, resolve } from 'node:path'
import { WeirError } from '../errors.ts'
import { ClusterClient } from '../runtime/cluster/client.ts'
import { isAlive, LocalCluster, stopProcesses } from '../runtime/cluster/local-cluster.ts'
import type { JobInfo } from '../runtime/cluster/protocol.ts'
import { RemoteError } from '../runtime/cluster/rpc.ts'

/** Where `weir cluster start` records its processes, relative to the working directory. */
export const CLUSTER_FILE = join('.weir', 'cluster.json')

/** What the cluster file holds. */
interface ClusterFile {
  address: string
  coordinator: { pid: number; log: string }
  taskManagers: { pid: number; id?: string; log: string }[]
  startedAt: string
}

/** Options of `weir cluster start`. */
export interface ClusterStartOptions {
  taskManagers: number
  slots: number
  port: number
  checkpointDir: string
  heartbeatTimeout?: number
  networkBuffers?: number
}

/** Starts a coordinator and task managers in the background and records their pids. */
export async function clusterStart(options: ClusterStartOptions, log: (line: string) => void): Promise<void> {
  const existing = readClusterFile()
  if (existing && [existing.coordinator.pid, ...existing.taskManagers.map((t) => t.pid)].some(isAlive)) {
    throw new WeirError('CLUSTER_RUNNING', `A cluster is already running (coordinator ${existing.address}, pid ${existing.coordinator.pid}); stop it with 'weir cluster stop'`)
  }
  const logDir = resolve('.weir', 'cluster', 'logs')
  const cluster = await LocalCluster.start({
    taskManagers: options.taskManagers,
    slots: options.slots,
    port: options.port,
    checkpointDir: options.checkpointDir,
    logDir,
    detached: true,
    networkBuffers: options.networkBuffers,
    ...(options.heartbeatTimeout !== undefined ? { heartbeatTimeoutMs: options.heartbeatTimeout, heartbeatIntervalMs: Math.max(10, Math.floor(options.heartbeatTimeout / 5)) } : {}),
  })
  const file: ClusterFile = {
    address: cluster.address,
    coordinator: { pid: cluster.coordinator.pid, log: cluster.coordinator.log },
    taskManagers: cluster.taskManagers.map((t) => ({ pid: t.pid, id: t.id, log: t.log })),
    startedAt: new Date().toISOString(),
  }
  mkdirSync('.weir', { recursive: true })
  writeFileSync(CLUSTER_FILE, `${JSON.stringify(file, null, 2)}\n`)
  log(`Coordinator: pid ${file.coordinator.pid}, listening on ${file.address} (log ${file.coordinator.log})`)
  for (const tm of file.taskManagers) log(`Task manager ${tm.id}: pid ${tm.pid}, ${options.slots} slot(s) (log ${tm.log})`)
  log(`Cluster started: ${options.taskManagers} task manager(s), ${options.taskManagers * options.slots} slots; checkpoints in ${resolve(options.checkpointDir)}.`)
  log(`Submit a job with 'weir run --cluster ${file.address} <job>'; stop the cluster with 'weir cluster stop'.`)
}

function readClusterFile(): ClusterFile | undefined {
  if (!existsSync(CLUSTER_FILE)) return undefined
  return JSON.parse(readFileSync(CLUSTER_FILE, 'utf8')) as ClusterFile
}

/** Stops the processes `weir cluster start` recorded. */
export async function clusterStop(log: (line: string) => void): Promise<void> {
  const file = readClusterFile()
  if (!file) throw new WeirError('NO_CLUSTER', `No cluster was started from this directory (${resolve(CLUSTER_FILE)} does not exist)`)
  const tms = file.taskManagers.map((t) => t.pid)
  // The coordinator first: it cancels its jobs, which then do not restart as task managers go.
  await stopProcesses([file.coordinator.pid])
  await stopProcesses(tms)
  rmSync(CLUSTER_FILE, { force: true })
  log(`Cluster stopped: coordinator pid ${file.coordinator.pid}, task managers ${tms.map((p) => `pid ${p}`).join(', ')}.`)
}

/** The coordinator address: the option, else the one `weir cluster start` recorded here. */
export function clusterAddress(option: string | undefined): string {
  if (option) return option
  const file = readClusterFile()
  if (file) return file.address
  throw new WeirError('NO_CLUSTER', "Give the coordinator with --cluster host:port (or start one here with 'weir cluster start')")
}

/** Options of `weir run --cluster`. */
export interface ClusterRunOptions {
  cluster: string
  parallelism?: number
  name?: string
  detached?: boolean
}

/** Bundles and submits a job; without `detached`, waits for it to end. */
export async function clusterRun(path: string, args: readonly string[], options: ClusterRunOptions, log: (line: string) => void): Promise<void> {
  const name = options.name ?? basename(path, extname(path))
  const client = await ClusterClient.connect(options.cluster)
  try {
    const jobId = await client.submitFile(path, { name, args, parallelism: options.parallelism })
    log(`Job '${name}' submitted to ${options.cluster}: ${jobId}`)
    if (options.detached) return
    const result = await client.wait(jobId)
    const restarts = result.restarts === 0 ? '' : `, ${result.restarts} restart${result.restarts === 1 ? '' : 's'}`
    if (result.status === 'FINISHED') {
      log(`Job '${name}' (${jobId}) finished in ${(result.durationMs / 1000).toFixed(2)} s${restarts}.`)
      return
    }
    if (result.error) throw new RemoteError(result.error, `Job '${name}' (${jobId}) ${result.status}: `)
    throw new WeirError('JOB_FAILED', `Job '${name}' (${jobId}) ended ${result.status}`)
  } finally {
    client.close()
  }
}

function formatTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
}

/** Prints the jobs of a cluster. */
export async function clusterList(address: string, log: (line: string) => void): Promise<void> {
  const client = await ClusterClient.connect(address)
  try {
    const jobs: JobInfo[] = await client.list()
    if (jobs.length === 0) {
      log('No jobs.')
      return
    }
    const rows = [
      ['JOB ID', 'NAME', 'STATUS', 'PARALLELISM', 'RESTARTS', 'CHECKPOINTS', 'STARTED', 'ENDED'],
      ...jobs.map((j) => [j.jobId, j.name, j.status, String(j.parallelism), String(j.restarts), String(j.checkpoints), formatTime(j.startTime), formatTime(j.endTime)]),
    ]
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
    for (const row of rows) log(row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd())
  } finally {
    client.close()
  }
}

/** Cancels a job and waits until it has stopped. */
export async function clusterCancel(address: string, jobId: string, log: (line: string) => void): Promise<void> {
  const client = await ClusterClient.connect(address)
  try {
    const job = await client.cancel(jobId)
    const result = await client.wait(job.jobId)
    log(`Job '${job.name}' (${job.jobId}): ${result.status}.`)
  } finally {
    client.close()
  }
}
