/** The state backends the benchmark can run on. */
import type { StateBackend } from '../../src/index.ts'
import type { BackendFactory } from './measure.ts'

/** A backend the user asked for that this build does not have. */
export class BackendUnavailableError extends Error {}

/**
 * The factory of the backend named by `--state`: undefined for the heap (the environment's
 * default). The RocksDB backend is looked up at run time, so the benchmark builds without it.
 */
export async function loadStateBackend(state: string): Promise<BackendFactory | undefined> {
  if (state === 'heap') return undefined
  if (state !== 'rocksdb') throw new BackendUnavailableError(`--state must be heap or rocksdb, got '${state}'`)
  // A variable specifier: the module may not exist yet, and the type checker must not require it.
  const specifier = '../../src/state/rocksdb/index.ts'
  let exported: unknown
  try {
    const module = (await import(specifier)) as Record<string, unknown>
    exported = module.rocksDBStateBackend
  } catch (error) {
    // A missing module means no backend yet; anything else (a native binding that fails to load) is news.
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error
    exported = undefined
  }
  if (typeof exported !== 'function') {
    throw new BackendUnavailableError('--state rocksdb: the RocksDB state backend is not available yet (src/state/rocksdb has no rocksDBStateBackend export); use --state heap')
  }
  const create = exported as (options: { directory: string }) => StateBackend
  return (directory) => create({ directory })
}
