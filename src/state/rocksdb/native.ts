import { createRequire } from 'node:module'

/**
 * The raw functions of the `@nxtedition/rocksdb` native addon that this backend uses, typed. The
 * package's `RocksLevel` class (abstract-level) is bypassed: its open is asynchronous and every
 * call goes through status checks and option objects, while state access must be synchronous and
 * cheap. Passing `undefined` options skips the addon's option lookups, which cost more than the
 * read itself for small values.
 */

/** Opaque handle of an open database in the calling thread. */
export type DbContext = { readonly __brand: 'rocksdb-db' }
/** Opaque handle of a native write batch. */
export type BatchContext = { readonly __brand: 'rocksdb-batch' }
/** Opaque handle of a native iterator (a consistent view from its creation on). */
export type IteratorContext = { readonly __brand: 'rocksdb-iterator' }

/** Options of `iterator_init`: bounds are byte strings, encodings must be 'buffer'. */
export interface NativeIteratorOptions {
  gte?: Buffer
  lt?: Buffer
  keys?: boolean
  values?: boolean
  keyEncoding: 'buffer'
  valueEncoding: 'buffer'
  fillCache?: boolean
  asyncIO?: boolean
}

/** Rows of `iterator_nextv_sync`: keys and values interleaved. */
export interface NativeRows {
  rows: (Buffer | undefined)[]
  finished: boolean
}

/** Options the addon reads when it opens a database (see `InitOptions` in its binding.cc). */
export interface NativeOpenOptions {
  createIfMissing: boolean
  errorIfExists?: boolean
  parallelism?: number
  walCompression?: boolean
  compaction?: 'level' | 'universal'
  memtableMemoryBudget?: number
  compression?: boolean
  cacheSize?: number
  mergeOperator?: string
  optimize?: 'point-lookup'
}

/** The addon's exported functions, as far as this backend calls them. */
export interface RocksDBBinding {
  db_init(locationOrHandle: string | bigint): DbContext
  db_open(db: DbContext, options: NativeOpenOptions | Record<string, never>, callback: (error: Error | null) => void): unknown
  db_close(db: DbContext, callback: (error: Error | null) => void): void
  db_get_handle(db: DbContext): bigint
  db_get_many_sync(db: DbContext, keys: readonly Buffer[], options: undefined): (Buffer | undefined | null)[]
  db_clear(db: DbContext, options: { gte: Buffer; lt: Buffer }): void
  db_get_property(db: DbContext, property: string): string
  db_get_latest_sequence(db: DbContext): number
  iterator_init(db: DbContext, options: NativeIteratorOptions): IteratorContext
  iterator_nextv_sync(iterator: IteratorContext, count: number): NativeRows
  iterator_close(iterator: IteratorContext): void
  batch_init(): BatchContext
  batch_put(batch: BatchContext, key: Buffer, value: Buffer, options: undefined): void
  batch_del(batch: BatchContext, key: Buffer, options: undefined): void
  batch_merge(batch: BatchContext, key: Buffer, value: Buffer, options: undefined): void
  batch_write(db: DbContext, batch: BatchContext, options: undefined): void
  batch_clear(batch: BatchContext): void
  batch_count(batch: BatchContext): number
}

const require = createRequire(import.meta.url)

/** Where the addon's loader is; the helper thread that opens databases loads it from there too. */
export const BINDING_PATH: string = require.resolve('@nxtedition/rocksdb/binding.js')

let loaded: RocksDBBinding | undefined

/** The addon, loaded on first use so that importing the backend costs nothing until it is used. */
export function binding(): RocksDBBinding {
  loaded ??= require(BINDING_PATH) as RocksDBBinding
  return loaded
}
