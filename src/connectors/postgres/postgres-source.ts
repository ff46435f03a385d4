import type { Source, SourceReaderContext, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../../api/connector/source.ts'
import { WeirError } from '../../errors.ts'
import { approximateSize, MeteredInstances, newMetrics, type ConnectorMetrics } from '../common/metrics.ts'
import { retrySettings, type RetryOptions, type RetrySettings } from '../common/retry.ts'
import { BufferedSplitReader, DiscoveringSplitEnumerator, type DiscoveryState, type SplitFailure } from '../common/split-reader.ts'
import { describePostgres, PostgresSession, quoteIdent, quoteQualified, type PostgresConnectionOptions } from './connection.ts'

/** Options of `PostgresTableSource`. */
export interface PostgresTableSourceOptions<T> {
  connection: PostgresConnectionOptions
  /** The table, optionally schema-qualified. */
  table: string
  /** A unique, non-null column (the primary key, usually): splits are ranges of it and readers page by it. */
  keyColumn: string
  /** The columns read; default all. */
  columns?: readonly string[]
  /** Key ranges to cut the table into; default 4. */
  splits?: number
  /** Rows per query; default 2000. */
  fetchSize?: number
  /** A row as a record; default the row object itself. */
  map?: (row: Record<string, unknown>) => T
  retry?: RetryOptions
}

/**
 * A key range (`lower`, `upper`], bounds as text in the key's type (absent: unbounded). `after` is
 * the position: the key of the last row emitted, as text.
 */
export interface PostgresKeyRangeSplit extends SourceSplit {
  lower: string | null
  upper: string | null
  after: string | null
  failure?: SplitFailure
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/
const POSITION = '__weir_position'
/** Key types whose values `pg` hands over as strings or numbers that print exactly as PostgreSQL's text. */
const EXACT_TEXT_TYPES = /^(smallint|integer|bigint|numeric|text|character varying|character|uuid)\b/

interface SourceSettings<T> {
  connection: PostgresConnectionOptions
  table: string
  key: string
  columns: readonly string[] | undefined
  splits: number
  fetchSize: number
  map: ((row: Record<string, unknown>) => T) | undefined
  retry: RetrySettings
  where: string
}

/**
 * Reads a PostgreSQL table once (a bounded source), in parallel: the enumerator cuts the key into
 * ranges of about equal row counts (`ntile` over the key) and readers page through their ranges in
 * key order (`WHERE key > $after ORDER BY key LIMIT n`), so a split's position is the last key read
 * and a restore resumes right after it. Each page is its own query: rows changed while the job runs
 * may or may not be seen, as with any scan that is not one snapshot.
 */
export class PostgresTableSource<T = Record<string, unknown>> implements Source<T, PostgresKeyRangeSplit, DiscoveryState<PostgresKeyRangeSplit>> {
  readonly boundedness = 'bounded' as const
  /** Readers of this source created in this process, with their counters. */
  readonly readers = new MeteredInstances<PostgresTableReader<T>>()
  private readonly settings: SourceSettings<T>

  constructor(options: PostgresTableSourceOptions<T>) {
    const where = `PostgreSQL source (${typeof options.table === 'string' ? options.table : '?'})`
    if (typeof options.table !== 'string' || !IDENT.test(options.table)) throw new WeirError('INVALID_CONFIG', `${where}: table must be a name or schema.name, got '${String(options.table)}'`)
    if (typeof options.keyColumn !== 'string' || options.keyColumn.length === 0) throw new WeirError('INVALID_CONFIG', `${where}: keyColumn must name a unique column`)
    const splits = options.splits ?? 4
    const fetchSize = options.fetchSize ?? 2000
    for (const [name, v] of [['splits', splits], ['fetchSize', fetchSize]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new WeirError('INVALID_CONFIG', `${where}: ${name} must be a positive integer, got ${v}`)
    }
    if (options.columns && options.columns.length === 0) throw new WeirError('INVALID_CONFIG', `${where}: columns, when given, must name at least one column`)
    this.settings = {
      connection: options.connection,
      table: options.table,
      key: options.keyColumn,
      columns: options.columns,
      splits,
      fetchSize,
      map: options.map,
      retry: retrySettings(options.retry, where),
      where,
    }
  }

  createEnumerator(context: SplitEnumeratorContext<PostgresKeyRangeSplit>): SplitEnumerator<PostgresKeyRangeSplit, DiscoveryState<PostgresKeyRangeSplit>> {
    return new DiscoveringSplitEnumerator(context, () => this.discover(), true)
  }

  restoreEnumerator(context: SplitEnumeratorContext<PostgresKeyRangeSplit>, state: DiscoveryState<PostgresKeyRangeSplit>): SplitEnumerator<PostgresKeyRangeSplit, DiscoveryState<PostgresKeyRangeSplit>> {
    return new DiscoveringSplitEnumerator(context, () => this.discover(), true, state)
  }

  createReader(context: SourceReaderContext): PostgresTableReader<T> {
    return this.readers.add(new PostgresTableReader(this.settings, context.subtaskIndex, (r) => this.readers.retire(r)))
  }

  /** Counters summed over every reader of this source in this process. */
  metrics(): ConnectorMetrics {
    return this.readers.total()
  }

  /** Checks table and key, then cuts the key into ranges of about equal size. */
  private async discover(): Promise<PostgresKeyRangeSplit[]> {
    const { table, key, splits, where } = this.settings
    const session = new PostgresSession(this.settings.connection, `${where} enumerator`, this.settings.retry, newMetrics())
    try {
      return await session.run(async (client) => {
        const found = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [quoteQualified(table)])
        const oid = found.rows[0]?.oid
        if (!oid) throw new WeirError('UNKNOWN_TABLE', `${where}: table '${table}' does not exist on PostgreSQL at ${describePostgres(this.settings.connection)}`)
        const unique = await client.query(
          `SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
           WHERE i.indrelid = $1::oid AND i.indisunique AND i.indnkeyatts = 1 AND a.attname = $2 AND a.attnotnull`,
          [oid, key],
        )
        if (unique.rowCount === 0) {
          throw new WeirError('INVALID_CONFIG', `${where}: key column '${key}' must be NOT NULL with a unique index of its own (a primary key, say): readers page through the table by it`)
        }
        // One range needs no bounds: skip the sort of every key.
        if (splits === 1) return [{ splitId: `${table}#0`, lower: null, upper: null, after: null }]
        const k = quoteIdent(key)
        const bounds = await client.query<{ bound: string }>(
          `SELECT max(${k})::text AS bound FROM (SELECT ${k}, ntile($1) OVER (ORDER BY ${k}) AS bucket FROM ${quoteQualified(table)}) b GROUP BY bucket ORDER BY bucket`,
          [splits],
        )
        const uppers = bounds.rows.map((r) => r.bound)
        // The last range has no upper bound, the first no lower one, so every key is in exactly one.
        const result: PostgresKeyRangeSplit[] = []
        for (let i = 0; i < Math.max(1, uppers.length); i++) {
          const lower = i === 0 ? null : uppers[i - 1]
          const upper = i >= uppers.length - 1 ? null : uppers[i]
          result.push({ splitId: `${table}#${i}`, lower, upper, after: null })
        }
        return result
      })
    } finally {
      await session.close()
    }
  }
}

/** Pages through its key ranges one after another, a page ahead of what is emitted. */
export class PostgresTableReader<T> extends BufferedSplitReader<T, PostgresKeyRangeSplit, string> {
  private readonly session: PostgresSession
  private readonly todo: PostgresKeyRangeSplit[] = []
  private running: Promise<void> | undefined
  private keyType: Promise<string> | undefined

  constructor(
    private readonly settings: SourceSettings<T>,
    subtask: number,
    private readonly onClose: (r: PostgresTableReader<T>) => void,
  ) {
    super(settings.fetchSize * 2, 512)
    this.session = new PostgresSession(settings.connection, `${settings.where} (subtask ${subtask})`, settings.retry, this.metrics, this.closing.signal)
  }

  protected copySplit(split: PostgresKeyRangeSplit): PostgresKeyRangeSplit {
    return { ...split }
  }

  protected advance(split: PostgresKeyRangeSplit, position: string): void {
    split.after = position
  }

  protected startSplit(split: PostgresKeyRangeSplit): void {
    this.todo.push(split)
    this.running ??= this.readAll()
      .catch((error: unknown) => this.fail(error))
      .finally(() => (this.running = undefined))
  }

  private async readAll(): Promise<void> {
    while (!this.closed) {
      const split = this.todo.shift()
      if (!split) return
      await this.readSplit(split)
    }
  }

  private async readSplit(split: PostgresKeyRangeSplit): Promise<void> {
    const { table, key, columns, fetchSize, map } = this.settings
    const type = await (this.keyType ??= this.session.run(async (client) => {
      const r = await client.query<{ type: string }>(`SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2`, [quoteQualified(table), key])
      if (r.rowCount === 0) throw new WeirError('INVALID_CONFIG', `${this.settings.where}: key column '${key}' is not a column of '${table}'`)
      return r.rows[0].type
    }))
    const k = quoteIdent(key)
    const cols = columns ? columns.map(quoteIdent).join(', ') : '*'
    // Keys whose JavaScript value prints as PostgreSQL's text of it are read back from the row;
    // others (timestamps, say) come as text in an extra column, removed before the row is emitted
    // (a removal costs, so only when needed).
    const keyInRow = (!columns || columns.includes(key)) && EXACT_TEXT_TYPES.test(type)
    const sql = `SELECT ${cols}${keyInRow ? '' : `, ${k}::text AS ${POSITION}`} FROM ${quoteQualified(table)}
      WHERE ($1::text IS NULL OR ${k} > $1::text::${type}) AND ($2::text IS NULL OR ${k} <= $2::text::${type})
      ORDER BY ${k} LIMIT ${fetchSize}`
    let after = split.after
    while (!this.closed) {
      await this.waitForSpace(fetchSize)
      const lower = after ?? split.lower
      const page = await this.session.run((client) => client.query<Record<string, unknown>>(sql, [lower, split.upper]))
      for (const row of page.rows) {
        let position: string
        if (keyInRow) {
          position = String(row[key])
        } else {
          position = row[POSITION] as string
          delete row[POSITION]
        }
        let value: T
        try {
          value = map ? map(row) : (row as T)
        } catch (cause) {
          throw new WeirError('DESERIALIZATION_FAILED', `${this.settings.where}: map failed on the row with key ${position}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
        }
        this.offerNow(split.splitId, value, undefined, position, approximateSize(row))
        after = position
      }
      if (page.rows.length < fetchSize) break
    }
    if (!this.closed) this.endSplit(split.splitId)
  }

  async close(): Promise<void> {
    this.releaseWaiters()
    await this.running
    await this.session.close()
    this.onClose(this)
  }
}
