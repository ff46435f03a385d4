import type pg from 'pg'
import type { Committer, Sink, SinkWriter, SinkWriterContext } from '../../api/connector/sink.ts'
import { WeirError } from '../../errors.ts'
import { approximateSize, MeteredInstances, newMetrics, type ConnectorMetrics, type Metered } from '../common/metrics.ts'
import { retrySettings, type RetryOptions, type RetrySettings } from '../common/retry.ts'
import { describePostgres, PostgresSession, quoteIdent, quoteQualified, type PostgresConnectionOptions } from './connection.ts'

/** What the sink promises. */
export type PostgresGuarantee = 'exactly-once' | 'at-least-once'

/** Options of `PostgresSink`. */
export interface PostgresSinkOptions<T> {
  connection: PostgresConnectionOptions
  /** The target table, optionally schema-qualified (`schema.table`). */
  table: string
  /** The columns written, in the order `toRow` gives values. */
  columns: readonly string[]
  /** A record's values, in `columns` order, or an object with (at least) those columns; default: the record itself. */
  toRow?: (value: T) => readonly unknown[] | Readonly<Record<string, unknown>>
  /** 'append' (default) inserts every record; 'upsert' inserts or updates by `key`. */
  mode?: 'append' | 'upsert'
  /** Upsert: the columns of a unique constraint; a later record with the same key replaces the row. */
  key?: readonly string[]
  /**
   * 'exactly-once' (default): a checkpoint's rows are written, with a marker row naming (job,
   * operator, subtask, checkpoint), in one transaction once the checkpoint completes.
   * 'at-least-once': rows are written as they come (in batches, and before every checkpoint); a
   * replay writes them again, which upserts make harmless.
   */
  guarantee?: PostgresGuarantee
  /** Rows per INSERT statement; default 2000. */
  batchSize?: number
  /** Where commit markers go (created when missing); default `weir_sink_commits`. */
  commitTable?: string
  retry?: RetryOptions
}

/**
 * The rows one subtask wrote between two checkpoints, with the marker that says whether they are
 * in the table: (job, operator, subtask, checkpoint).
 */
export interface PostgresCommittable {
  jobId: string
  operator: string
  subtask: number
  checkpointId: number
  rows: unknown[][]
}

interface SinkSettings<T> {
  connection: PostgresConnectionOptions
  table: string
  columns: readonly string[]
  toValues: (value: T) => unknown[]
  upsertKey: readonly string[] | undefined
  guarantee: PostgresGuarantee
  batchSize: number
  commitTable: string
  retry: RetrySettings
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/

/**
 * Writes records to a PostgreSQL table, in append or upsert (`INSERT ... ON CONFLICT`) mode, in
 * batched multi-row INSERTs (one JSON parameter per batch, unpacked by `json_populate_recordset`).
 *
 * Exactly-once: this server may not allow prepared transactions (`max_prepared_transactions = 0`
 * is PostgreSQL's default), so the sink does not depend on them. A checkpoint's rows are its
 * committables; the committer writes them in one transaction that first inserts the marker
 * (job, operator, subtask, checkpoint) into the commit table. A marker that is already there means
 * an earlier attempt committed those rows: the transaction is rolled back and nothing is written
 * twice. The marker insert also serializes two committers of the same checkpoint (the second waits
 * on the first's row lock, then sees the conflict).
 */
export class PostgresSink<T> implements Sink<T, PostgresCommittable> {
  /** Writers of this sink created in this process, with their counters. */
  readonly writers = new MeteredInstances<Metered>()
  /** Committers of this sink created in this process, with their counters. */
  readonly committers = new MeteredInstances<Metered>()
  private readonly settings: SinkSettings<T>

  constructor(options: PostgresSinkOptions<T>) {
    const where = `PostgreSQL sink (${typeof options.table === 'string' ? options.table : '?'})`
    if (typeof options.table !== 'string' || !IDENT.test(options.table)) throw new WeirError('INVALID_CONFIG', `${where}: table must be a name or schema.name, got '${String(options.table)}'`)
    if (!Array.isArray(options.columns) || options.columns.length === 0) throw new WeirError('INVALID_CONFIG', `${where}: 'columns' must list the columns written`)
    for (const c of options.columns) if (typeof c !== 'string' || c.length === 0) throw new WeirError('INVALID_CONFIG', `${where}: column names must be non-empty strings`)
    const mode = options.mode ?? 'append'
    if (mode !== 'append' && mode !== 'upsert') throw new WeirError('INVALID_CONFIG', `${where}: mode must be 'append' or 'upsert', got '${String(mode)}'`)
    const key = options.key
    if (mode === 'upsert') {
      if (!key || key.length === 0) throw new WeirError('INVALID_CONFIG', `${where}: upsert mode needs 'key', the columns of a unique constraint`)
      const missing = key.filter((k) => !options.columns.includes(k))
      if (missing.length > 0) throw new WeirError('INVALID_CONFIG', `${where}: key column(s) ${missing.join(', ')} are not among the written columns`)
    }
    const guarantee = options.guarantee ?? 'exactly-once'
    if (guarantee !== 'exactly-once' && guarantee !== 'at-least-once') throw new WeirError('INVALID_CONFIG', `${where}: unknown guarantee '${String(guarantee)}'`)
    const batchSize = options.batchSize ?? 2000
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new WeirError('INVALID_CONFIG', `${where}: batchSize must be a positive integer, got ${batchSize}`)
    const commitTable = options.commitTable ?? 'weir_sink_commits'
    if (!IDENT.test(commitTable)) throw new WeirError('INVALID_CONFIG', `${where}: commitTable must be a name or schema.name, got '${commitTable}'`)
    const columns = [...options.columns]
    const toRow = options.toRow
    this.settings = {
      connection: options.connection,
      table: options.table,
      columns,
      toValues: (value) => {
        const row = toRow ? toRow(value) : (value as unknown as Record<string, unknown>)
        if (Array.isArray(row)) return row.length === columns.length ? [...row] : badRow(where, row, columns)
        if (row === null || typeof row !== 'object') return badRow(where, row, columns)
        const object = row as Record<string, unknown>
        return columns.map((c) => object[c])
      },
      upsertKey: mode === 'upsert' ? [...key!] : undefined,
      guarantee,
      batchSize,
      commitTable,
      retry: retrySettings(options.retry, where),
    }
  }

  createWriter(context: SinkWriterContext): SinkWriter<T, PostgresCommittable> & Metered {
    const writer = new PostgresWriter(this.settings, context, (w) => this.writers.retire(w))
    this.writers.add(writer)
    return writer
  }

  createCommitter(): Committer<PostgresCommittable> {
    const committer = new PostgresCommitter(this.settings as SinkSettings<unknown>, (c) => this.committers.retire(c))
    this.committers.add(committer)
    return committer
  }

  /**
   * Counters summed over this sink's writers and committers in this process: `recordsIn` counts
   * records written to the sink, `recordsOut` rows sent to the table (on commit in exactly-once mode).
   */
  metrics(): ConnectorMetrics {
    const w = this.writers.total()
    const c = this.committers.total()
    return { ...w, recordsOut: w.recordsOut + c.recordsOut, bytesOut: w.bytesOut + c.bytesOut, reconnects: w.reconnects + c.reconnects, retries: w.retries + c.retries }
  }
}

function badRow(where: string, row: unknown, columns: readonly string[]): never {
  throw new WeirError('SINK_BAD_RECORD', `${where}: a row must be an array of ${columns.length} values (${columns.join(', ')}) or an object with those columns, got ${JSON.stringify(row)?.slice(0, 200)}`)
}

/** A value as JSON for `json_populate_recordset`: bigints as text, bytes as bytea hex. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return `\\x${Buffer.from((value as { data: number[] }).data).toString('hex')}`
  }
  return value
}

/** The INSERT of one batch, and the batches of a set of rows. */
class InsertStatement {
  readonly sql: string
  private readonly keyIndexes: number[] | undefined

  constructor(private readonly settings: SinkSettings<unknown>) {
    const table = quoteQualified(settings.table)
    const cols = settings.columns.map(quoteIdent).join(', ')
    let sql = `INSERT INTO ${table} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::${table}, $1::json)`
    if (settings.upsertKey) {
      const keys = settings.upsertKey
      const rest = settings.columns.filter((c) => !keys.includes(c))
      sql += ` ON CONFLICT (${keys.map(quoteIdent).join(', ')}) DO ${rest.length === 0 ? 'NOTHING' : `UPDATE SET ${rest.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`}`
      this.keyIndexes = keys.map((k) => settings.columns.indexOf(k))
    }
    this.sql = sql
  }

  /**
   * Upserts keep the last row per key: one INSERT ... ON CONFLICT DO UPDATE may not touch a row
   * twice, and the last write wins anyway.
   */
  private dedupe(rows: unknown[][]): unknown[][] {
    const keys = this.keyIndexes
    if (!keys) return rows
    const last = new Map<string, unknown[]>()
    for (const row of rows) {
      const k = JSON.stringify(keys.map((i) => row[i]), jsonValue)
      last.delete(k)
      last.set(k, row)
    }
    return [...last.values()]
  }

  /** Writes rows on `client` in batches; returns the payload bytes sent. */
  async write(client: pg.Client, rows: unknown[][]): Promise<number> {
    const { columns, batchSize } = this.settings
    let bytes = 0
    const all = this.dedupe(rows)
    for (let from = 0; from < all.length; from += batchSize) {
      const objects = all.slice(from, from + batchSize).map((row) => {
        const o: Record<string, unknown> = {}
        for (let i = 0; i < columns.length; i++) o[columns[i]] = row[i]
        return o
      })
      const json = JSON.stringify(objects, jsonValue)
      bytes += json.length
      await client.query(this.sql, [json])
    }
    return bytes
  }
}

async function ensureCommitTable(client: pg.Client, name: string): Promise<void> {
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoteQualified(name)} (job_id text NOT NULL, operator text NOT NULL, subtask integer NOT NULL, checkpoint_id bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), rows integer NOT NULL, PRIMARY KEY (job_id, operator, subtask, checkpoint_id))`,
    )
  } catch (error) {
    // Two subtasks creating it at once: one wins, the other sees its type or table; both are fine.
    const code = (error as { code?: unknown }).code
    if (code !== '23505' && code !== '42P07') throw error
  }
}

/** Buffers rows; exactly-once hands them over per checkpoint, at-least-once writes them in batches. */
class PostgresWriter<T> implements SinkWriter<T, PostgresCommittable>, Metered {
  readonly metrics = newMetrics()
  private readonly closing = new AbortController()
  private readonly session: PostgresSession
  private readonly statement: InsertStatement
  private rows: unknown[][] = []
  private io: Promise<void> = Promise.resolve()
  private failure: unknown
  private readonly checked: Promise<void>

  constructor(
    private readonly settings: SinkSettings<T>,
    private readonly context: SinkWriterContext,
    private readonly onClose: (w: PostgresWriter<T>) => void,
  ) {
    const where = `PostgreSQL sink '${context.operatorName}' (subtask ${context.subtaskIndex}, table ${settings.table})`
    this.session = new PostgresSession(settings.connection, where, settings.retry, this.metrics, this.closing.signal)
    this.statement = new InsertStatement(settings as SinkSettings<unknown>)
    this.checked = this.check()
    this.checked.catch((error: unknown) => (this.failure ??= error))
  }

  /**
   * Fails early on a bad address, login, table, column or key: the INSERT of no rows is planned in
   * full (table, columns, types, the unique constraint ON CONFLICT needs) and writes nothing.
   */
  private async check(): Promise<void> {
    await this.session.run(async (client) => {
      await client.query(this.statement.sql, ['[]'])
      if (this.settings.guarantee === 'exactly-once') await ensureCommitTable(client, this.settings.commitTable)
    })
    // Exactly-once writers do not talk to the server again: the committer does.
    if (this.settings.guarantee === 'exactly-once') await this.session.close()
  }

  write(value: T): void {
    if (this.failure !== undefined) throw this.failure
    const row = this.settings.toValues(value)
    this.rows.push(row)
    this.metrics.recordsIn++
    this.metrics.bytesIn += approximateSize(row)
    if (this.settings.guarantee === 'at-least-once' && this.rows.length >= this.settings.batchSize) this.writeBuffered()
  }

  private writeBuffered(): void {
    const rows = this.rows
    this.rows = []
    this.io = this.io
      .then(async () => {
        if (this.failure !== undefined) return
        const bytes = await this.session.transaction((client) => this.statement.write(client, rows))
        this.metrics.recordsOut += rows.length
        this.metrics.bytesOut += bytes
      })
      .catch((error: unknown) => {
        this.failure ??= error
      })
  }

  async flush(): Promise<void> {
    await this.checked.catch(() => {})
    if (this.settings.guarantee === 'at-least-once') {
      if (this.rows.length > 0) this.writeBuffered()
      await this.io
    }
    if (this.failure !== undefined) throw this.failure
  }

  prepareCommit(checkpointId: number): PostgresCommittable[] {
    if (this.failure !== undefined) throw this.failure
    if (this.settings.guarantee === 'at-least-once' || this.rows.length === 0) return []
    const { jobId, operatorName, subtaskIndex } = this.context
    const committable = { jobId, operator: operatorName, subtask: subtaskIndex, checkpointId, rows: this.rows }
    this.rows = []
    return [committable]
  }

  async close(): Promise<void> {
    this.closing.abort()
    await this.io
    await this.checked.catch(() => {})
    await this.session.close()
    this.onClose(this)
  }
}

/** Writes each committable with its marker in one transaction, skipping those already committed. */
class PostgresCommitter implements Committer<PostgresCommittable>, Metered {
  readonly metrics = newMetrics()
  private readonly closing = new AbortController()
  private readonly session: PostgresSession
  private readonly statement: InsertStatement
  private tableReady = false
  /** Committables found already committed (by an earlier attempt). */
  skipped = 0

  constructor(
    private readonly settings: SinkSettings<unknown>,
    private readonly onClose: (c: PostgresCommitter) => void,
  ) {
    this.session = new PostgresSession(settings.connection, `PostgreSQL sink committer (table ${settings.table}, ${describePostgres(settings.connection)})`, settings.retry, this.metrics, this.closing.signal)
    this.statement = new InsertStatement(settings)
  }

  async commit(committables: PostgresCommittable[]): Promise<void> {
    const markers = quoteQualified(this.settings.commitTable)
    if (!this.tableReady && committables.length > 0) {
      await this.session.run((client) => ensureCommitTable(client, this.settings.commitTable))
      this.tableReady = true
    }
    for (const c of committables) {
      const written = await this.session.transaction(async (client) => {
        const marker = await client.query(`INSERT INTO ${markers} (job_id, operator, subtask, checkpoint_id, rows) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, [
          c.jobId,
          c.operator,
          c.subtask,
          c.checkpointId,
          c.rows.length,
        ])
        if (marker.rowCount === 0) return undefined
        return this.statement.write(client, c.rows)
      })
      if (written === undefined) {
        this.skipped++
        continue
      }
      this.metrics.recordsOut += c.rows.length
      this.metrics.bytesOut += written
    }
  }

  async close(): Promise<void> {
    this.closing.abort()
    await this.session.close()
    this.onClose(this)
  }
}
