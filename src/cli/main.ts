import { Command, InvalidArgumentError } from 'commander'
import { WeirError } from '../errors.ts'
import { LOG_LEVELS, type LogLevel } from '../web/logger.ts'
import type { RunOptions } from './run-command.ts'
import { addSavepointCommand } from './savepoint-command.ts'

// Commands import what they need when they run: a task manager process should not load the web
// server, nor the embedded runner the cluster code.

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer')
  return n
}

function port(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number, 0 to 65535 (0 picks a free one)')
  return n
}

function milliseconds(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive number of milliseconds')
  return n
}

function logLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value)
  if (!level) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(', ')}`)
  return level
}

function print(line: string): void {
  console.log(line)
}

/** `weir cluster start|stop`, `list`, `cancel`, and the processes of a cluster. */
function addClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('a cluster of processes on this machine: a coordinator and task managers')
  cluster
    .command('start')
    .description('start a coordinator and task managers in the background (pids in .weir/cluster.json)')
    .option('-t, --task-managers <n>', 'task manager processes', positiveInt, 2)
    .option('-s, --slots <n>', 'slots per task manager', positiveInt, 2)
    .option('--port <n>', 'coordinator port (0 picks a free one)', port, 6123)
    .option('--checkpoint-dir <dir>', 'checkpoints of jobs that do not choose their own storage', '.weir/checkpoints')
    .option('--heartbeat-timeout <ms>', 'a task manager silent this long is lost', milliseconds)
    .option('--network-buffers <n>', 'record batches each end of a network channel holds (credits)', positiveInt)
    .action(async (opts: { taskManagers: number; slots: number; port: number; checkpointDir: string; heartbeatTimeout?: number; networkBuffers?: number }) => {
      const { clusterStart } = await import('./cluster-commands.ts')
      await clusterStart(opts, print)
    })
  cluster
    .command('stop')
    .description('stop the cluster started from this directory')
    .action(async () => {
      const { clusterStop } = await import('./cluster-commands.ts')
      await clusterStop(print)
    })
  program
    .command('list')
    .description('list the jobs of a cluster')
    .option('--cluster <host:port>', 'the coordinator (default: the cluster started from this directory)')
    .action(async (opts: { cluster?: string }) => {
      const { clusterAddress, clusterList } = await import('./cluster-commands.ts')
      await clusterList(clusterAddress(opts.cluster), print)
    })
  program
    .command('cancel')
    .description('cancel a job on a cluster')
    .argument('<jobId>', 'the job id (or an unambiguous prefix of it)')
    .option('--cluster <host:port>', 'the coordinator (default: the cluster started from this directory)')
    .action(async (jobId: string, opts: { cluster?: string }) => {
      const { clusterAddress, clusterCancel } = await import('./cluster-commands.ts')
      await clusterCancel(clusterAddress(opts.cluster), jobId, print)
    })
  program
    .command('coordinator')
    .description('run a cluster coordinator in the foreground')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--port <n>', 'port to listen on (0 picks a free one)', port, 6123)
    .option('--checkpoint-dir <dir>', 'checkpoints of jobs that do not choose their own storage (a directory every process reaches)', '.weir/checkpoints')
    .option('--heartbeat-interval <ms>', 'how often heartbeats are sent', milliseconds)
    .option('--heartbeat-timeout <ms>', 'a task manager silent this long is lost', milliseconds)
    .option('--slot-timeout <ms>', 'how long a job waits for free slots', milliseconds)
    .option('--network-buffers <n>', 'record batches each end of a network channel holds (credits)', positiveInt)
    .option('--ready-file <file>', 'write {pid, host, port} here once listening')
    .option('--log-level <level>', 'level of the logs on stderr', logLevel, 'info')
    .option('--parent-pid <pid>', 'exit when this process ends', positiveInt)
    .action(async (opts: { host: string; port: number; checkpointDir: string; heartbeatInterval?: number; heartbeatTimeout?: number; slotTimeout?: number; networkBuffers?: number; readyFile?: string; logLevel: LogLevel; parentPid?: number }) => {
      const { runCoordinatorProcess } = await import('../runtime/cluster/processes.ts')
      await runCoordinatorProcess({
        host: opts.host,
        port: opts.port,
        checkpointDir: opts.checkpointDir,
        heartbeatIntervalMs: opts.heartbeatInterval,
        heartbeatTimeoutMs: opts.heartbeatTimeout,
        slotTimeoutMs: opts.slotTimeout,
        networkBuffers: opts.networkBuffers,
        readyFile: opts.readyFile,
        logLevel: opts.logLevel,
        parentPid: opts.parentPid,
      })
    })
  program
    .command('taskmanager')
    .description('run a task manager in the foreground; it registers with the coordinator')
    .requiredOption('--coordinator <host:port>', 'the coordinator to register with')
    .option('-s, --slots <n>', 'slots this task manager offers', positiveInt, 2)
    .option('--host <address>', 'address other task managers reach this one at (default: the one it reaches the coordinator from)')
    .option('--data-port <n>', 'port of the data server (0 picks a free one)', port, 0)
    .option('--ready-file <file>', 'write {pid, id} here once registered')
    .option('--log-level <level>', 'level of the logs on stderr', logLevel, 'info')
    .option('--parent-pid <pid>', 'exit when this process ends', positiveInt)
    .action(async (opts: { coordinator: string; slots: number; host?: string; dataPort: number; readyFile?: string; logLevel: LogLevel; parentPid?: number }) => {
      const { runTaskManagerProcess } = await import('../runtime/cluster/processes.ts')
      await runTaskManagerProcess({ coordinator: opts.coordinator, slots: opts.slots, host: opts.host, dataPort: opts.dataPort, readyFile: opts.readyFile, logLevel: opts.logLevel, parentPid: opts.parentPid })
    })
}

/** Builds the `weir` command line. */
export function createProgram(): Command {
  const program = new Command()
  program.name('weir').description('Weir: stateful stream processing for TypeScript').option('--verbose', 'print stack traces of errors')
  program
    .command('run')
    .description('run a job module (its default export is defineJob(...)) in this process')
    .argument('<job>', 'path of the job module (.ts or .js)')
    .argument('[args...]', 'arguments passed to the job')
    .option('-p, --parallelism <n>', 'default parallelism of the job', positiveInt)
    .option('-n, --name <name>', 'job name (default: the file name)')
    .option('--no-progress', 'do not print a progress line every second')
    .option('--web', 'serve the REST API, Prometheus metrics and the dashboard while the job runs')
    .option('--port <n>', 'port of --web (0 picks a free one)', port, 8081)
    .option('--host <address>', 'address --web listens on', '127.0.0.1')
    .option('--log-level <level>', `level of the structured logs on stderr (${LOG_LEVELS.join(', ')})`, logLevel, 'info')
    .option('--cluster <host:port>', 'submit the job to a cluster (bundled with its dependencies) instead of running it here')
    .option('-d, --detached', 'with --cluster: return once the job is submitted instead of waiting for it to end')
    .action(async (job: string, args: string[], opts: RunOptions & { cluster?: string; detached?: boolean }) => {
      if (opts.cluster) {
        const { clusterRun } = await import('./cluster-commands.ts')
        await clusterRun(job, args, { cluster: opts.cluster, parallelism: opts.parallelism, name: opts.name, detached: opts.detached }, print)
        return
      }
      const { runJob } = await import('./run-command.ts')
      await runJob(job, args, opts, print)
    })
  addClusterCommands(program)
  addSavepointCommand(program, (line) => console.log(line))
  return program
}

/** Runs the CLI; errors become one clear line (the stack with --verbose) and exit code 1. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = createProgram()
  try {
    await program.parseAsync([...argv])
  } catch (error) {
    const verbose = argv.includes('--verbose')
    const message = error instanceof WeirError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)
    console.error(`weir: ${message}`)
    if (verbose && error instanceof Error && error.stack) console.error(error.stack)
    process.exitCode = 1
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))
if (invokedDirectly) await main(process.argv)
