import type { Redis } from 'ioredis'
import { WeirError } from '../../errors.ts'
import type { ConnectorMetrics } from '../common/metrics.ts'
import { Backoff, messageOf, sleep, type RetrySettings } from '../common/retry.ts'

/** Where and how to reach Redis. */
export interface RedisConnectionOptions {
  /** A `redis://[user:pass@]host:port/db` URL; or give host and port. */
  url?: string
  host?: string
  port?: number
  username?: string
  password?: string
  db?: number
}

/** The server, for messages (never the password). */
export function describeRedis(options: RedisConnectionOptions): string {
  if (options.url) {
    try {
      const url = new URL(options.url)
      return `${url.hostname}:${url.port || 6379}`
    } catch {
      return 'the configured server'
    }
  }
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`
}

/** Rejects options that can never work, before anything connects. */
export function checkRedisOptions(options: RedisConnectionOptions, where: string): void {
  if (options.url !== undefined) {
    try {
      const url = new URL(options.url)
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`scheme ${url.protocol}`)
    } catch (cause) {
      throw new WeirError('INVALID_CONFIG', `${where}: '${options.url}' is not a redis:// URL`, { cause })
    }
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
    throw new WeirError('INVALID_CONFIG', `${where}: port must be an integer in 1..65535, got ${options.port}`)
  }
}

/** True for a login the server refused: retrying will not help. */
export function isRedisAuthError(error: unknown): boolean {
  return /WRONGPASS|NOAUTH|NOPERM|invalid username-password/i.test(messageOf(error))
}

/**
 * A failure that may pass: the connection is down or being re-established, the server is loading.
 * Command errors (wrong type, syntax) are not.
 */
export function isTransientRedisError(error: unknown): boolean {
  if (isRedisAuthError(error)) return false
  const text = messageOf(error)
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection is closed|Stream isn't writeable|LOADING|connect|socket|MaxRetriesPerRequest|TRYAGAIN|CLUSTERDOWN|BUSY/i.test(text)
}

const connectionErrors = new WeakMap<Redis, unknown>()

/**
 * A client for one connector instance. Commands fail at once while disconnected (no offline queue),
 * so the caller's backoff decides how long to wait; the client keeps reconnecting in the background.
 */
export async function createRedis(options: RedisConnectionOptions, metrics: ConnectorMetrics): Promise<Redis> {
  // Loaded on first use, so that importing Weir does not load every connector's client.
  const { Redis } = await import('ioredis')
  const settings = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    protocol: 2 as const,
    connectTimeout: 5000,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), 1000),
    username: options.username,
    password: options.password,
    db: options.db,
  }
  const redis = options.url ? new Redis(options.url, settings) : new Redis({ host: options.host ?? '127.0.0.1', port: options.port ?? 6379, ...settings })
  let connectedBefore = false
  redis.on('ready', () => {
    if (connectedBefore) metrics.reconnects++
    connectedBefore = true
  })
  // Connection errors (refused, bad login) arrive here, not at the commands, which only see
  // "Stream isn't writeable": keep the last one for the messages and for telling a bad login.
  redis.on('error', (error: unknown) => connectionErrors.set(redis, error))
  redis.on('ready', () => connectionErrors.delete(redis))
  return redis
}

/**
 * Runs a command (or a few) until it succeeds, retrying transient failures with backoff. The first
 * connect goes through here too, so an unreachable server or a bad login fails with a message that
 * names it.
 */
export async function redisRetry<R>(
  client: Promise<Redis>,
  work: (redis: Redis) => Promise<R>,
  context: { where: string; server: string; retry: RetrySettings; metrics: ConnectorMetrics; signal?: AbortSignal },
): Promise<R> {
  const backoff = new Backoff(context.retry)
  const redis = await client
  for (;;) {
    try {
      if (redis.status === 'wait') await redis.connect()
      return await work(redis)
    } catch (failure) {
      if (failure instanceof WeirError) throw failure
      // A command refused for want of a connection: the connection's own error says why.
      const error = /Stream isn't writeable|Connection is closed/.test(messageOf(failure)) ? (connectionErrors.get(redis) ?? failure) : failure
      if (isRedisAuthError(error)) throw new WeirError('CONNECTOR_AUTH_FAILED', `${context.where}: Redis at ${context.server} rejected the login: ${messageOf(error)}`, { cause: error })
      if (!isTransientRedisError(error) || context.signal?.aborted) throw new WeirError('CONNECTOR_FAILED', `${context.where}: Redis at ${context.server} failed: ${messageOf(error)}`, { cause: error })
      const delay = backoff.next()
      if (delay === undefined) {
        throw new WeirError('CONNECTOR_UNREACHABLE', `${context.where}: Redis at ${context.server} kept failing for ${Math.round(backoff.failingForMs)} ms: ${messageOf(error)}`, { cause: error })
      }
      context.metrics.retries++
      await sleep(delay, context.signal)
    }
  }
}

/** Stream ids compare as (milliseconds, sequence). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = '0'] = a.split('-')
  const [bm, bs = '0'] = b.split('-')
  const ms = BigInt(am) - BigInt(bm)
  if (ms !== 0n) return ms < 0n ? -1 : 1
  const seq = BigInt(as) - BigInt(bs)
  return seq === 0n ? 0 : seq < 0n ? -1 : 1
}
