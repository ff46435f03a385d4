import { Command, InvalidArgumentError } from 'commander'
import { WeirError } from '../errors.ts'
import { LOG_LEVELS, type LogLevel } from '../web/logger.ts'
import { runJob, type RunOptions } from './run-command.ts'

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

function logLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value)
  if (!level) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(', ')}`)
  return level
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
    .action(async (job: string, args: string[], opts: RunOptions) => {
      await runJob(job, args, opts, (line) => console.log(line))
    })
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
