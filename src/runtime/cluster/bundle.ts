import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isJobDefinition, type JobDefinition } from '../../api/job.ts'
import { WeirError } from '../../errors.ts'

/**
 * Job bundles: `weir run --cluster` bundles the job module with its dependencies into one ES
 * module, as a Flink jar is built, and the coordinator ships it to the task managers. The engine
 * stays outside the bundle: every process must run the job against its own copy of Weir's classes
 * (one `WeirError`, one `StreamEnvironment`), so imports of the engine become imports of the bare
 * specifier `weir`, which a bundle stored inside this package's directory resolves to this very
 * package by self-reference.
 */

/** This package's root directory. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SOURCE_DIR = join(PACKAGE_ROOT, 'src')
const INDEX = join(SOURCE_DIR, 'index.ts')

/** Where received bundles are stored: inside the package, so `import 'weir'` resolves to it. */
export const BUNDLE_DIR = join(PACKAGE_ROOT, '.weir', 'cluster', 'bundles')

function packageDependencies(): Set<string> {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> }
  return new Set([pkg.name, ...Object.keys(pkg.dependencies ?? {})])
}

function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/**
 * Bundles a job module and what it imports into one ES module. Imports that land in this
 * package's `src/` become `weir` (the index) or `weir/src/...` (anything else); packages Weir
 * itself depends on stay external too, so native modules and shared singletons load once.
 */
export async function bundleJob(entry: string): Promise<Uint8Array> {
  const file = resolve(entry)
  if (!existsSync(file)) throw new WeirError('JOB_NOT_FOUND', `Job module '${entry}' does not exist (looked at ${file})`)
  const { build } = await import('esbuild')
  const external = packageDependencies()
  const result = await build({
    entryPoints: [file],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'weir-engine-external',
        setup(b) {
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.kind === 'entry-point' || (args.pluginData as { inner?: boolean } | undefined)?.inner) return undefined
            if (args.path.startsWith('node:')) return { path: args.path, external: true }
            const relativeImport = args.path.startsWith('.') || isAbsolute(args.path)
            if (!relativeImport) return external.has(packageName(args.path)) ? { path: args.path, external: true } : undefined
            const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { inner: true } })
            if (resolved.errors.length > 0) return { errors: resolved.errors }
            if (resolved.path === INDEX) return { path: 'weir', external: true }
            if (resolved.path.startsWith(SOURCE_DIR + sep)) return { path: `weir/src/${relative(SOURCE_DIR, resolved.path).split(sep).join('/')}`, external: true }
            return { path: resolved.path }
          })
        },
      },
    ],
  })
  if (result.errors.length > 0) throw new WeirError('JOB_BUNDLE_FAILED', `Cannot bundle '${entry}': ${result.errors.map((e) => e.text).join('; ')}`)
  return result.outputFiles[0].contents
}

/** The content hash a bundle is stored and shipped under. */
export function bundleHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32)
}

/** The path a bundle is stored at. */
export function bundlePath(hash: string): string {
  if (!/^[0-9a-f]{32}$/.test(hash)) throw new WeirError('PROTOCOL_ERROR', `Not a bundle hash: ${hash}`)
  return join(BUNDLE_DIR, `job-${hash}.mjs`)
}

/** Stores a bundle (atomically: processes on one machine share the directory). */
export async function storeBundle(bytes: Uint8Array): Promise<string> {
  const hash = bundleHash(bytes)
  const path = bundlePath(hash)
  if (existsSync(path)) return hash
  await mkdir(BUNDLE_DIR, { recursive: true })
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(tmp, bytes)
  await rename(tmp, path)
  return hash
}

/** Whether a bundle is stored here. */
export function hasBundle(hash: string): boolean {
  return existsSync(bundlePath(hash))
}

/** Imports a stored bundle and returns its job definition. */
export async function loadBundle(hash: string): Promise<JobDefinition> {
  let module: { default?: unknown }
  try {
    module = (await import(pathToFileURL(bundlePath(hash)).href)) as { default?: unknown }
  } catch (cause) {
    throw new WeirError('JOB_LOAD_FAILED', `Job bundle ${hash} failed to load: ${(cause as Error).message}`, { cause })
  }
  if (!isJobDefinition(module.default)) throw new WeirError('NOT_A_JOB', `Job bundle ${hash} has no default export made with defineJob((env) => { ... })`)
  return module.default
}
