import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isJobDefinition, type JobDefinition } from '../api/job.ts'
import { WeirError } from '../errors.ts'

/** Imports a job module and returns its default export, checking it is a `defineJob(...)`. */
export async function loadJob(path: string): Promise<JobDefinition> {
  const file = resolve(path)
  if (!existsSync(file)) throw new WeirError('JOB_NOT_FOUND', `Job module '${path}' does not exist (looked at ${file})`)
  let module: { default?: unknown }
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown }
  } catch (cause) {
    throw new WeirError('JOB_LOAD_FAILED', `Job module '${path}' failed to load: ${(cause as Error).message}`, { cause })
  }
  if (!isJobDefinition(module.default)) {
    throw new WeirError('NOT_A_JOB', `Job module '${path}' must have a default export made with defineJob((env) => { ... })`)
  }
  return module.default
}
