import { WeirError } from '../../errors.ts'
import { closeDatabase, openDatabase } from './db-opener.ts'
import { binding, type BatchContext, type DbContext, type IteratorContext, type NativeOpenOptions, type RocksDBBinding } from './native.ts'

const NO_BYTES = Buffer.alloc(0)

/** Something that keeps derived data about keys (counts) and must hear of writes. */
export interface WriteObserver {
  written(key: Buffer): void
  clear(): void
}

/**
 * One open RocksDB database, used from the task's thread: synchronous point reads, one write
 * batch that collects writes until `write()`, and cursors over key ranges.
 */
export class RocksDBInstance {
  private readonly native: RocksDBBinding
  private readonly db: DbContext
  private readonly batch: BatchContext
  private readonly cursors = new Set<RowCursor>()
  private readonly oneKey: Buffer[] = [NO_BYTES]
  private batched = 0
  private closed = false
  /** Told of every key written, and of range deletions. */
  observer: WriteObserver | undefined = undefined

  private constructor(
    readonly directory: string,
    private readonly handle: bigint,
  ) {
    this.native = binding()
    this.db = this.native.db_init(handle)
    // The database is open already, so this only binds this thread's handle to it, synchronously.
    this.native.db_open(this.db, {}, () => {})
    this.batch = this.native.batch_init()
  }

  /** Opens (creating it) the database in `directory`. */
  static open(directory: string, options: NativeOpenOptions): RocksDBInstance {
    return new RocksDBInstance(directory, openDatabase(directory, options))
  }

  /** The stored value of a key, ignoring writes not yet written. */
  get(key: Buffer): Buffer | undefined {
    this.checkOpen()
    this.oneKey[0] = key
    const value = this.native.db_get_many_sync(this.db, this.oneKey, undefined)[0]
    // null is the addon's answer for an aborted or timed out read.
    if (value === null) throw new WeirError('ROCKSDB_FAILED', `RocksDB in ${this.directory} aborted a read`)
    return value
  }

  put(key: Buffer, value: Buffer): void {
    this.checkOpen()
    this.native.batch_put(this.batch, key, value, undefined)
    this.batched++
    this.observer?.written(key)
  }

  delete(key: Buffer): void {
    this.checkOpen()
    this.native.batch_del(this.batch, key, undefined)
    this.batched++
    this.observer?.written(key)
  }

  /** Appends `operand` to the stored value (the database's merge operator concatenates). */
  merge(key: Buffer, operand: Buffer): void {
    this.checkOpen()
    this.native.batch_merge(this.batch, key, operand, undefined)
    this.batched++
    this.observer?.written(key)
  }

  /** Writes collected in the batch and not yet written. */
  get pendingWrites(): number {
    return this.batched
  }

  /** Writes the batched writes atomically; cursors opened before do not see them. */
  write(): void {
    if (this.batched === 0) return
    this.checkOpen()
    this.native.batch_write(this.db, this.batch, undefined)
    this.native.batch_clear(this.batch)
    this.batched = 0
  }

  /** Deletes every key in [gte, lt) with one range tombstone, after the batched writes. */
  deleteRange(gte: Buffer, lt: Buffer): void {
    this.write()
    this.native.db_clear(this.db, { gte, lt })
    this.observer?.clear()
  }

  /**
   * A cursor over the keys in [gte, lt). It sees the database as it is now: later writes do not
   * reach it, which is what makes it usable as a frozen view for a snapshot.
   */
  cursor(gte: Buffer, lt: Buffer, options: { values?: boolean; batchSize?: number; fillCache?: boolean } = {}): RowCursor {
    this.checkOpen()
    const values = options.values ?? true
    const iterator = this.native.iterator_init(this.db, {
      gte,
      lt,
      keys: true,
      values,
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      fillCache: options.fillCache ?? true,
    })
    const cursor = new RowCursor(this.native, iterator, options.batchSize ?? 256, this.cursors)
    this.cursors.add(cursor)
    return cursor
  }

  /** A RocksDB property (`rocksdb.estimate-num-keys`, `rocksdb.live-sst-files-size`, ...). */
  property(name: string): string {
    this.checkOpen()
    return this.native.db_get_property(this.db, name)
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Closes the cursors still open, then the database. Idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const cursor of [...this.cursors]) cursor.close()
    this.native.batch_clear(this.batch)
    closeDatabase(this.handle, this.directory)
  }

  private checkOpen(): void {
    if (this.closed) throw new WeirError('ROCKSDB_FAILED', `RocksDB in ${this.directory} is closed (the keyed state backend was disposed)`)
  }
}

/** Reads the rows of a key range in order, fetching them from RocksDB in batches. */
export class RowCursor {
  /** Key of the current row (valid after `next()` returned true). */
  key: Buffer = NO_BYTES
  /** Value of the current row; empty when the cursor reads keys only. */
  value: Buffer = NO_BYTES
  private rows: (Buffer | undefined)[] = []
  private position = 0
  private finished = false
  private iterator: IteratorContext | undefined

  constructor(
    private readonly native: RocksDBBinding,
    iterator: IteratorContext,
    private readonly batchSize: number,
    private readonly registry: Set<RowCursor>,
  ) {
    this.iterator = iterator
  }

  /** Moves to the next row; false at the end of the range, where the cursor closes itself. */
  next(): boolean {
    if (this.position >= this.rows.length) {
      const iterator = this.iterator
      if (iterator === undefined || this.finished) {
        this.close()
        return false
      }
      const { rows, finished } = this.native.iterator_nextv_sync(iterator, this.batchSize)
      this.rows = rows
      this.position = 0
      this.finished = finished
      if (rows.length === 0) {
        this.close()
        return false
      }
    }
    this.key = this.rows[this.position] as Buffer
    this.value = this.rows[this.position + 1] ?? NO_BYTES
    this.position += 2
    return true
  }

  /** Releases the native iterator (and the view it pins). Idempotent. */
  close(): void {
    const iterator = this.iterator
    if (iterator === undefined) return
    this.iterator = undefined
    this.rows = []
    this.registry.delete(this)
    this.native.iterator_close(iterator)
  }
}
