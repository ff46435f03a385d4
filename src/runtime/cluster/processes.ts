import { writeFileSync, renameSync } from 'node:fs'
import { resolve } from 'node:path'
import { pino, type Logger } from 'pino'
import { ClusterCoordinator, DEFAULT_HEARTBEAT, DEFAULT_NETWORK_BUFFERS } from './coordinator.ts'
import { parseAddress } from './client.ts'
import { TaskManager } from './task-manager.ts'

/**
 * The two long-running processes of a cluster: `weir coordinator` and `weir taskmanager`. Each
 * logs JSON lines (pino) on standard error and, when asked, writes a small "ready" file once it
 * accepts work, so whoever started it can wait for that without parsing logs.
 */

/** A pino log level. */
export type ClusterLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

function processLogger(name: string, level: ClusterLogLevel): Logger {
  return pino({ name, level }, pino.destination({ fd: 2, sync: true }))
}

function writeReady(file: string | undefined, content: object): void {
  if (!file) return
  const tmp = `${file}.tmp`
  writeFileSync(tmp, JSON.stringify({ pid: process.pid, ...content }))
  renameSync(tmp, file)
}

/**
 * Loads the whole engine now: job bundles import it, and loading (compiling) it inside the first
 * deployment would stall the process long enough to miss heartbeats.
 */
async function preloadEngine(): Promise<void> {
  await import('../../index.ts')
}

/** Ends this process soon after `pid` ended: children of a test runner never outlive it. */
function exitWithParent(pid: number | undefined, stop: () => Promise<void>): void {
  if (pid === undefined) return
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0)
    } catch {
      clearInterval(timer)
      void stop().finally(() => process.exit(1))
    }
  }, 500)
  timer.unref()
}

/** Ends the process on SIGTERM or SIGINT after `stop` (a second signal ends it at once). */
function onTermination(stop: () => Promise<void>): void {
  let stopping = false
  const handler = (): void => {
    if (stopping) process.exit(1)
    stopping = true
    const force = setTimeout(() => process.exit(1), 5000)
    force.unref()
    stop().finally(() => process.exit(0))
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}

/** Options of `weir coordinator`. */
export interface CoordinatorProcessOptions {
  host: string
  port: number
  checkpointDir: string
  heartbeatIntervalMs?: number
  heartbeatTimeoutMs?: number
  slotTimeoutMs?: number
  networkBuffers?: number
  readyFile?: string
  logLevel?: ClusterLogLevel
  /** Exit when this process ends. */
  parentPid?: number
}

/** Runs a coordinator in this process until it is terminated. */
export async function runCoordinatorProcess(options: CoordinatorProcessOptions): Promise<void> {
  const log = processLogger('weir-coordinator', options.logLevel ?? 'info')
  await preloadEngine()
  const coordinator = new ClusterCoordinator({
    host: options.host,
    port: options.port,
    checkpointDir: resolve(options.checkpointDir),
    heartbeat: { intervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT.intervalMs, timeoutMs: options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT.timeoutMs },
    slotTimeoutMs: options.slotTimeoutMs ?? 30_000,
    networkBuffers: options.networkBuffers ?? DEFAULT_NETWORK_BUFFERS,
    log,
  })
  const address = await coordinator.start()
  writeReady(options.readyFile, { host: address.host, port: address.port })
  onTermination(() => coordinator.stop())
  exitWithParent(options.parentPid, () => coordinator.stop())
}

/** Options of `weir taskmanager`. */
export interface TaskManagerProcessOptions {
  coordinator: string
  slots: number
  /** Address other task managers reach this one at. */
  host?: string
  dataPort?: number
  readyFile?: string
  logLevel?: ClusterLogLevel
  /** Exit when this process ends. */
  parentPid?: number
}

/** Runs a task manager in this process until it is terminated. */
export async function runTaskManagerProcess(options: TaskManagerProcessOptions): Promise<void> {
  const log = processLogger('weir-taskmanager', options.logLevel ?? 'info')
  await preloadEngine()
  const { host, port } = parseAddress(options.coordinator)
  const tm = new TaskManager({ coordinatorHost: host, coordinatorPort: port, slots: options.slots, advertisedHost: options.host, dataPort: options.dataPort, log })
  await tm.start()
  writeReady(options.readyFile, { id: tm.taskManagerId })
  onTermination(() => tm.stop())
  exitWithParent(options.parentPid, () => tm.stop())
}
