import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { WeirError } from '../../errors.ts'
import { PACKAGE_ROOT } from './bundle.ts'
import type { ClusterLogLevel } from './processes.ts'

/** Options of a cluster of processes on this machine. */
export interface LocalClusterOptions {
  taskManagers: number
  slots: number
  /** Coordinator port; 0 picks a free one. */
  port?: number
  checkpointDir: string
  /** Where each process writes its log (stderr and stdout). */
  logDir: string
  heartbeatIntervalMs?: number
  heartbeatTimeoutMs?: number
  slotTimeoutMs?: number
  /** Record batches per network channel end (see `CoordinatorOptions.networkBuffers`). */
  networkBuffers?: number
  /** Let the processes outlive this one (for `weir cluster start`). */
  detached?: boolean
  cwd?: string
  logLevel?: ClusterLogLevel
  /** Extra arguments for `node` in every process (say `--cpu-prof` to profile a cluster). */
  nodeArgs?: string[]
}

/** A process of a local cluster. */
export interface ClusterProcess {
  pid: number
  role: 'coordinator' | 'taskmanager'
  log: string
  /** Task managers: the id the coordinator gave. */
  id?: string
}

const WEIR_BIN = join(PACKAGE_ROOT, 'bin', 'weir.js')
const READY_TIMEOUT_MS = 60_000

/**
 * A coordinator and task managers as child processes of this one (the `weir` binary in each), for
 * `weir cluster start` and for tests, which kill task managers and start new ones.
 */
export class LocalCluster {
  readonly taskManagers: ClusterProcess[] = []
  private readonly children = new Map<number, ChildProcess>()
  private started = 0
  coordinator!: ClusterProcess
  /** `host:port` of the coordinator. */
  address = ''

  private constructor(private readonly options: LocalClusterOptions) {}

  /** Starts the coordinator, then the task managers; resolves once all are registered. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const cluster = new LocalCluster(options)
    try {
      mkdirSync(options.logDir, { recursive: true })
      const args = ['coordinator', '--port', String(options.port ?? 0), '--checkpoint-dir', resolve(options.checkpointDir)]
      if (options.heartbeatIntervalMs !== undefined) args.push('--heartbeat-interval', String(options.heartbeatIntervalMs))
      if (options.heartbeatTimeoutMs !== undefined) args.push('--heartbeat-timeout', String(options.heartbeatTimeoutMs))
      if (options.slotTimeoutMs !== undefined) args.push('--slot-timeout', String(options.slotTimeoutMs))
      if (options.networkBuffers !== undefined) args.push('--network-buffers', String(options.networkBuffers))
      const { process: coordinator, ready } = cluster.spawn('coordinator', 'coordinator', args)
      cluster.coordinator = coordinator
      const info = (await ready) as { host: string; port: number }
      cluster.address = `${info.host}:${info.port}`
      await Promise.all(Array.from({ length: options.taskManagers }, () => cluster.startTaskManager()))
      return cluster
    } catch (error) {
      cluster.kill()
      throw error
    }
  }

  /** Starts one more task manager; resolves once it is registered. */
  async startTaskManager(): Promise<ClusterProcess> {
    const n = ++this.started
    const args = ['taskmanager', '--coordinator', this.address, '--slots', String(this.options.slots), '--host', '127.0.0.1']
    const { process: tm, ready } = this.spawn(`taskmanager-${n}`, 'taskmanager', args)
    this.taskManagers.push(tm)
    tm.id = ((await ready) as { id: string }).id
    return tm
  }

  private spawn(name: string, role: ClusterProcess['role'], args: string[]): { process: ClusterProcess; ready: Promise<unknown> } {
    const { logDir } = this.options
    const log = join(logDir, `${name}.log`)
    const readyFile = join(logDir, `${name}.ready`)
    rmSync(readyFile, { force: true })
    const fd = openSync(log, 'a')
    if (this.options.logLevel) args.push('--log-level', this.options.logLevel)
    if (!this.options.detached) args.push('--parent-pid', String(process.pid))
    const child = spawn(process.execPath, [...(this.options.nodeArgs ?? []), WEIR_BIN, ...args, '--ready-file', readyFile], {
      cwd: this.options.cwd,
      stdio: ['ignore', fd, fd],
      detached: this.options.detached ?? false,
    })
    closeSync(fd)
    if (this.options.detached) child.unref()
    const pid = child.pid
    if (pid === undefined) throw new WeirError('CLUSTER_START_FAILED', `Cannot start the ${role}`)
    this.children.set(pid, child)
    let exited: string | undefined
    child.on('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `exit code ${code}`
      this.children.delete(pid)
    })
    const info: ClusterProcess = { pid, role, log }
    const ready = (async (): Promise<unknown> => {
      const deadline = Date.now() + READY_TIMEOUT_MS
      while (!existsSync(readyFile)) {
        if (exited) throw new WeirError('CLUSTER_START_FAILED', `The ${role} (pid ${pid}) ended (${exited}) before it was ready; its log ${log} ends with:\n${tail(log)}`)
        if (Date.now() > deadline) throw new WeirError('CLUSTER_START_FAILED', `The ${role} (pid ${pid}) was not ready after ${READY_TIMEOUT_MS} ms; see ${log}`)
        await new Promise((r) => setTimeout(r, 25))
      }
      return JSON.parse(readFileSync(readyFile, 'utf8')) as unknown
    })()
    return { process: info, ready }
  }

  /** Sends a signal to one process of the cluster. */
  signal(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }

  /** Resolves when a process of this cluster has exited. */
  async exited(pid: number, timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (isAlive(pid)) {
      if (Date.now() > deadline) return false
      await new Promise((r) => setTimeout(r, 20))
    }
    return true
  }

  /** Every process this cluster started that is still running. */
  get pids(): number[] {
    return [this.coordinator?.pid, ...this.taskManagers.map((t) => t.pid)].filter((pid): pid is number => pid !== undefined && isAlive(pid))
  }

  /**
   * Stops the coordinator (it cancels the jobs first, so nothing restarts on the way down), then
   * the task managers: SIGTERM, SIGKILL after a grace period.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.coordinator) await stopProcesses([this.coordinator.pid], graceMs)
    await stopProcesses(this.taskManagers.map((t) => t.pid), graceMs)
  }

  /** Kills every process at once (SIGKILL). */
  kill(): void {
    for (const pid of this.pids) this.signal(pid, 'SIGKILL')
  }
}

/** Whether a process is running. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** SIGTERM, then SIGKILL whatever still runs after `graceMs`; resolves when all are gone. */
export async function stopProcesses(pids: readonly number[], graceMs = 5000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
  for (const pid of pids.filter(isAlive)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  while (pids.some(isAlive)) await new Promise((r) => setTimeout(r, 10))
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
