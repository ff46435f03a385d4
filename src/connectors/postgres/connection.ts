import type pg from 'pg'
import { WeirError } from '../../errors.ts'
import type { ConnectorMetrics } from '../common/metrics.ts'
import { Backoff, isNetworkError, messageOf, sleep, type RetrySettings } from '../common/retry.ts'

/** How to reach PostgreSQL: a connection string or `pg`'s client settings. */
export type PostgresConnectionOptions = string | pg.ClientConfig

/** The server, for messages (never the password). */
export function describePostgres(options: PostgresConnectionOptions): string {
  if (typeof options === 'string') {
    try {
      const url = new URL(options)
      return `${url.hostname}:${url.port || 5432}${url.pathname}`
    } catch {
      return 'the configured server'
    }
  }
  if (options.connectionString) return describePostgres(options.connectionString)
  return `${options.host ?? process.env.PGHOST ?? 'localhost'}:${options.port ?? process.env.PGPORT ?? 5432}/${options.database ?? process.env.PGDATABASE ?? ''}`
}

/** SQLSTATEs of failures that may pass: the connection or server went away, or a transaction lost a race. */
const TRANSIENT_STATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01', '55006'])

/** True when retrying (on a new connection, from the start of the transaction) may succeed. */
export function isTransientPostgresError(error: unknown): boolean {
  if (isNetworkError(error)) return true
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && (code.startsWith('08') || TRANSIENT_STATES.has(code))) return true
  const text = messageOf(error)
  return /Connection terminated|connection error|not queryable|Client was closed|timeout expired|ECONNRESET/i.test(text)
}

/** Turns a failure that will not pass into an error that says what to fix. */
export function describePostgresError(error: unknown, where: string, server: string, gaveUp: Backoff | undefined): WeirError {
  if (error instanceof WeirError) return error
  const code = (error as { code?: unknown }).code
  const text = messageOf(error)
  if (gaveUp) return new WeirError('CONNECTOR_UNREACHABLE', `${where}: PostgreSQL at ${server} kept failing for ${Math.round(gaveUp.failingForMs)} ms: ${text}`, { cause: error })
  if (code === '28P01' || code === '28000') return new WeirError('CONNECTOR_AUTH_FAILED', `${where}: PostgreSQL at ${server} rejected the login: ${text}`, { cause: error })
  if (code === '3D000') return new WeirError('INVALID_CONFIG', `${where}: PostgreSQL at ${server}: ${text}`, { cause: error })
  if (code === '42P01') return new WeirError('UNKNOWN_TABLE', `${where}: PostgreSQL at ${server}: ${text}`, { cause: error })
  if (code === '42703') return new WeirError('INVALID_CONFIG', `${where}: PostgreSQL at ${server}: ${text}`, { cause: error })
  return new WeirError('CONNECTOR_FAILED', `${where}: PostgreSQL at ${server} failed${typeof code === 'string' ? ` (SQLSTATE ${code})` : ''}: ${text}`, { cause: error })
}

/**
 * One connection, opened on first use and opened again after it breaks. `run` retries a whole unit
 * of work (a transaction, a query) on a fresh connection while the failure is transient, so the
 * unit must be safe to run again: a transaction that did not commit left nothing behind.
 */
export class PostgresSession {
  private client: pg.Client | undefined
  private connecting: Promise<pg.Client> | undefined
  readonly server: string
  private everConnected = false

  constructor(
    private readonly options: PostgresConnectionOptions,
    private readonly where: string,
    private readonly retry: RetrySettings,
    private readonly metrics: ConnectorMetrics,
    private readonly signal?: AbortSignal,
  ) {
    this.server = describePostgres(options)
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client
    this.connecting ??= (async () => {
      const config = typeof this.options === 'string' ? { connectionString: this.options } : this.options
      // Loaded on first use, so that importing Weir does not load every connector's client.
      const { Client } = await import('pg')
      const client = new Client({ connectionTimeoutMillis: 5000, ...config })
      // A broken connection reports here (and on its next query); it is replaced on the next use.
      client.on('error', () => {
        if (this.client === client) this.client = undefined
      })
      try {
        await client.connect()
      } catch (error) {
        await client.end().catch(() => {})
        throw error
      }
      if (this.everConnected) this.metrics.reconnects++
      this.everConnected = true
      this.client = client
      return client
    })().finally(() => (this.connecting = undefined))
    return this.connecting
  }

  /** Runs `work` on the connection, retrying it on a new connection while failures are transient. */
  async run<R>(work: (client: pg.Client) => Promise<R>): Promise<R> {
    const backoff = new Backoff(this.retry)
    for (;;) {
      let client: pg.Client | undefined
      try {
        client = await this.connect()
        return await work(client)
      } catch (error) {
        const used = client
        if (used && this.client === used && !isTransientPostgresError(error)) {
          // A failed statement inside a transaction leaves it aborted: end it so the connection is usable.
          await used.query('ROLLBACK').catch(() => this.drop(used))
        }
        if (!isTransientPostgresError(error) || this.signal?.aborted) throw describePostgresError(error, this.where, this.server, undefined)
        if (client) this.drop(client)
        const delay = backoff.next()
        if (delay === undefined) throw describePostgresError(error, this.where, this.server, backoff)
        this.metrics.retries++
        await sleep(delay, this.signal)
      }
    }
  }

  /** Runs `work` inside BEGIN ... COMMIT, retried as a whole. */
  transaction<R>(work: (client: pg.Client) => Promise<R>): Promise<R> {
    return this.run(async (client) => {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      return result
    })
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = undefined
    client.end().catch(() => {})
  }

  async close(): Promise<void> {
    const client = this.client ?? (await this.connecting?.catch(() => undefined))
    this.client = undefined
    await client?.end().catch(() => {})
  }
}

/** Quotes a possibly schema-qualified name: `a.b` becomes `"a"."b"`. */
export function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.')
}

/** Quotes one identifier, as PostgreSQL's quote_ident does (double quotes doubled). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}
