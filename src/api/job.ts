import type { StreamEnvironment } from './stream-environment.ts'

/** A job module's default export: builds the job's graph on the environment it is given. */
export interface JobDefinition {
  readonly kind: 'weir-job'
  /** `args` are the command-line arguments after the job path. */
  build(env: StreamEnvironment, args: readonly string[]): void | Promise<void>
}

/**
 * Declares a job. The module's default export is loaded by whatever runs it (the embedded runner,
 * each task manager of a cluster), so the graph is rebuilt from code, never from serialized closures.
 */
export function defineJob(build: (env: StreamEnvironment, args: readonly string[]) => void | Promise<void>): JobDefinition {
  return { kind: 'weir-job', build }
}

/** Whether a module export is a job definition. */
export function isJobDefinition(value: unknown): value is JobDefinition {
  return typeof value === 'object' && value !== null && (value as JobDefinition).kind === 'weir-job' && typeof (value as JobDefinition).build === 'function'
}
