import type { KeyIdentity } from '../key-serialization.ts'
import type { RocksDBInstance } from './rocksdb-instance.ts'

/** No write is pending for a row. */
export const CLEAN = 0
/** `base` is to be written. */
export const PUT = 1
/** The row is to be deleted. */
export const DELETE = 2

/**
 * What the backend knows of one RocksDB row: its stored value if it was read or written (`base`:
 * `undefined` when unknown, `null` when absent) and what still has to be written.
 */
export class CachedRow {
  base: Buffer | null | undefined = undefined
  /** CLEAN, PUT (write `base`) or DELETE. */
  op = CLEAN
  /** List elements appended since the last write, merged after `op` without reading the list. */
  tail: Buffer[] | null = null
  dirty = false

  constructor(readonly key: Buffer) {}
}

/** The cached rows of one state in one namespace, by key identity (map state: then user key). */
export type RowGroup<R> = Map<KeyIdentity, R>

/** Limits of the row cache. */
export interface RowCacheLimits {
  /** Rows kept; beyond it the cache is written out and emptied. */
  maxRows: number
  /** Approximate bytes of values kept; beyond it the cache is written out and emptied. */
  maxBytes: number
  /** Rows with pending writes; reaching it writes them as one batch. */
  maxDirty: number
}

/** Something holding cached rows, emptied when the cache is. */
export interface RowHolder {
  dropRows(): void
}

/**
 * The backend's write buffer and read cache in one. Reads find rows written and not yet flushed
 * (read your writes) and rows read before; writes are collected and written as one batch when
 * `maxDirty` rows are pending, and before anything reads RocksDB directly (iteration, snapshots).
 * Values are kept as bytes, so a value read is always a fresh copy, as it would be from RocksDB.
 *
 * Eviction is wholesale: past a limit, the pending writes go out and every state drops its rows.
 * It costs one miss per hot row per round instead of an LRU list update on every access.
 */
export class RowCache {
  rows = 0
  bytes = 0
  private readonly dirtyRows: CachedRow[] = []
  private readonly holders: RowHolder[] = []

  constructor(
    private readonly db: RocksDBInstance,
    readonly limits: RowCacheLimits,
  ) {}

  register(holder: RowHolder): void {
    this.holders.push(holder)
  }

  unregister(holder: RowHolder): void {
    const index = this.holders.indexOf(holder)
    if (index >= 0) this.holders.splice(index, 1)
  }

  /** Whether a new row would go past a limit: the caller evicts first. */
  get full(): boolean {
    return this.rows >= this.limits.maxRows || this.bytes >= this.limits.maxBytes
  }

  /** Counts a row added to a holder. */
  added(): void {
    this.rows++
  }

  /** Counts rows a holder dropped on its own (their writes were flushed before). */
  removed(rows: number, bytes: number): void {
    this.rows -= rows
    this.bytes -= bytes
  }

  /** Records the bytes a row's known value changed by. */
  resized(before: Buffer | null | undefined, after: Buffer | null | undefined): void {
    this.bytes += (after?.length ?? 0) - (before?.length ?? 0)
  }

  /** Marks a row as having writes to flush; flushes when enough are pending. */
  markDirty(row: CachedRow): void {
    if (row.dirty) return
    row.dirty = true
    this.dirtyRows.push(row)
    if (this.dirtyRows.length >= this.limits.maxDirty) this.flush()
  }

  get pendingWrites(): number {
    return this.dirtyRows.length
  }

  /** Writes every pending row to RocksDB in one batch; the rows stay cached, clean. */
  flush(): void {
    const dirty = this.dirtyRows
    if (dirty.length === 0) return
    const db = this.db
    for (const row of dirty) {
      if (row.op === PUT) db.put(row.key, row.base as Buffer)
      else if (row.op === DELETE) db.delete(row.key)
      const tail = row.tail
      if (tail !== null) {
        const appended = tail.length === 1 ? tail[0] : Buffer.concat(tail)
        db.merge(row.key, appended)
        // RocksDB now holds base + tail; the cache knows it only if it knew the base.
        const before = row.base
        row.base = before === undefined ? undefined : before === null ? appended : Buffer.concat([before, appended])
        this.resized(before, row.base)
        row.tail = null
      }
      row.op = CLEAN
      row.dirty = false
    }
    dirty.length = 0
    db.write()
  }

  /** Flushes, then makes every state drop its cached rows. */
  evict(): void {
    this.flush()
    for (const holder of this.holders) holder.dropRows()
    this.rows = 0
    this.bytes = 0
  }

  /** Forgets everything, pending writes included (the backend is being disposed). */
  discard(): void {
    for (const row of this.dirtyRows) row.dirty = false
    this.dirtyRows.length = 0
    for (const holder of this.holders) holder.dropRows()
    this.rows = 0
    this.bytes = 0
  }
}
