import { Command, InvalidArgumentError } from 'commander'
import { WeirError } from '../errors.ts'
import { runJob } from './run-command.ts'

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer')
  return n
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
    .action(async (job: string, args: string[], opts: { parallelism?: number; name?: string; progress: boolean }) => {
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
