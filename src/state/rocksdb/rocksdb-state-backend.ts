import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WeirError } from '../../errors.ts'
import { DefaultOperatorStateBackend } from '../operator/default-operator-state-backend.ts'
import type { StateBackend } from '../state-backend.ts'
import type { NativeOpenOptions } from './native.ts'
import type { RowCacheLimits } from './row-cache.ts'
import { RocksDBKeyedStateBackend } from './rocksdb-keyed-state-backend.ts'

const MiB = 1024 * 1024

/** Options of `rocksDBStateBackend`; every size is per keyed operator subtask (one RocksDB each). */
export interface RocksDBStateBackendOptions {
  /** Where the instances' directories go (default `os.tmpdir()/weir-rocksdb`). */
  directory?: string
  /** RocksDB block cache, in bytes (default 32 MiB). */
  blockCacheSize?: number
  /**
   * Size of one memtable, in bytes (default 8 MiB). Up to six may exist while flushes are slow;
   * two are usually in memory.
   */
  writeBufferSize?: number
  /**
   * 'zstd' (default): leveled compaction, the first two levels uncompressed and the deeper ones
   * ZSTD, so small state costs no compression CPU and large state stays compact. 'none':
   * universal compaction without compression (the binding ties the write buffer size to a
   * compaction style, and only its universal style leaves every level uncompressed).
   */
  compression?: 'zstd' | 'none'
  /** RocksDB background threads for flushes and compactions (default 1: the task has the other core). */
  backgroundThreads?: number
  /** Rows the in-memory row cache keeps before it is written out and emptied (default 65,536). */
  cacheRows?: number
  /** Bytes of values the row cache keeps before it is written out and emptied (default 32 MiB). */
  cacheBytes?: number
  /** Rows with pending writes that make one write batch (default 8,192): a row written again before its batch goes out is written once. */
  writeBatchRows?: number
}

/** The settings `rocksDBStateBackend` resolves its options to. */
export interface ResolvedRocksDBOptions {
  directory: string
  rocksdb: NativeOpenOptions
  cache: RowCacheLimits
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new WeirError('INVALID_STATE_BACKEND', `RocksDB option ${name} must be a positive number, got ${value}`)
  return Math.floor(value)
}

/** Applies the defaults, sized for a small machine (2 cores, a few GiB) running a few keyed subtasks. */
export function resolveRocksDBOptions(options: RocksDBStateBackendOptions = {}): ResolvedRocksDBOptions {
  const writeBufferSize = positive('writeBufferSize', options.writeBufferSize, 8 * MiB)
  const compression = options.compression ?? 'zstd'
  if (compression !== 'zstd' && compression !== 'none') throw new WeirError('INVALID_STATE_BACKEND', `RocksDB option compression must be 'zstd' or 'none', got '${String(compression)}'`)
  return {
    directory: options.directory ?? join(tmpdir(), 'weir-rocksdb'),
    rocksdb: {
      createIfMissing: true,
      errorIfExists: true,
      parallelism: positive('backgroundThreads', options.backgroundThreads, 1),
      // The write-ahead log cannot be switched off through this binding; compressing it would cost
      // CPU on every batch for a log that is never replayed (instances are never reopened: state
      // comes back from checkpoints).
      walCompression: false,
      // The binding sets the memtable size to a quarter of this budget.
      memtableMemoryBudget: writeBufferSize * 4,
      compaction: compression === 'zstd' ? 'level' : 'universal',
      compression: compression === 'zstd',
      cacheSize: positive('blockCacheSize', options.blockCacheSize, 32 * MiB),
      // List state appends with merge operands; an empty delimiter makes a merge a plain concatenation.
      mergeOperator: 'id=StringAppendOperator;delimiter=',
      optimize: 'point-lookup',
    },
    cache: {
      maxRows: positive('cacheRows', options.cacheRows, 65_536),
      maxBytes: positive('cacheBytes', options.cacheBytes, 32 * MiB),
      maxDirty: positive('writeBatchRows', options.writeBatchRows, 8192),
    },
  }
}

/**
 * Keeps keyed state in RocksDB, one instance per keyed operator subtask in its own local
 * directory: state larger than memory, at the cost of serializing on every access. Operator
 * state stays on the heap. Snapshots use the same format as `heapStateBackend()`, so a job can
 * switch between the two through a savepoint.
 */
export function rocksDBStateBackend(options: RocksDBStateBackendOptions = {}): StateBackend {
  const resolved = resolveRocksDBOptions(options)
  return {
    name: 'rocksdb',
    createKeyedBackend: (keyed) =>
      new RocksDBKeyedStateBackend({
        maxParallelism: keyed.maxParallelism,
        keyGroupRange: keyed.keyGroupRange,
        operatorName: keyed.operatorName,
        root: resolved.directory,
        rocksdb: resolved.rocksdb,
        cache: resolved.cache,
        ...(keyed.timeProvider ? { timeProvider: keyed.timeProvider } : {}),
      }),
    createOperatorBackend: (subtaskIndex) => new DefaultOperatorStateBackend(subtaskIndex),
  }
}
