import type { NatsConnection } from '@nats-io/transport-node'
import { WeirError } from '../../errors.ts'
import { messageOf, withRetry, type RetrySettings } from '../common/retry.ts'
import { loadNats } from './library.ts'

/** Where and how to reach NATS. */
export interface NatsConnectionOptions {
  /** Server addresses, e.g. `127.0.0.1:4222` or `nats://host:4222`. */
  servers: string | readonly string[]
  user?: string
  pass?: string
  token?: string
  /** Connection name shown by the server's monitoring. */
  name?: string
}

/** The servers, for messages. */
export function describeServers(servers: string | readonly string[]): string {
  return typeof servers === 'string' ? servers : servers.join(', ')
}

/** Rejects options that can never work, before anything connects. */
export function checkNatsOptions(options: NatsConnectionOptions, where: string): void {
  const servers = typeof options.servers === 'string' ? [options.servers] : options.servers
  if (!Array.isArray(servers) || servers.length === 0 || servers.some((s) => typeof s !== 'string' || s.trim() === '')) {
    throw new WeirError('INVALID_CONFIG', `${where}: 'servers' must name at least one NATS server, e.g. '127.0.0.1:4222'`)
  }
}

function isAuthFailure(error: unknown): boolean {
  const text = messageOf(error).toLowerCase()
  return text.includes('authorization') || text.includes('authentication')
}

/**
 * Connects, retrying while the server is unreachable (it may be restarting) up to the retry
 * settings' limit, then fails with a message naming the servers. Once connected, the client
 * reconnects by itself for as long as the connection lives; what was in flight is retried by the
 * caller.
 */
export async function connectNats(options: NatsConnectionOptions, where: string, retry: RetrySettings, signal?: AbortSignal): Promise<NatsConnection> {
  const servers = typeof options.servers === 'string' ? [options.servers] : [...options.servers]
  const { transport } = await loadNats()
  return withRetry(
    () =>
      transport.connect({
        servers,
        user: options.user,
        pass: options.pass,
        token: options.token,
        name: options.name ?? 'weir',
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 100,
        timeout: 5000,
        pingInterval: 10_000,
      }),
    {
      settings: retry,
      signal,
      isTransient: (error) => !isAuthFailure(error),
      describe: (error, gaveUp) =>
        isAuthFailure(error)
          ? new WeirError('CONNECTOR_AUTH_FAILED', `${where}: NATS at ${describeServers(options.servers)} rejected the credentials: ${messageOf(error)}`, { cause: error })
          : new WeirError(
              'CONNECTOR_UNREACHABLE',
              `${where}: cannot connect to NATS at ${describeServers(options.servers)}${gaveUp ? ` (gave up after ${retry.giveUpAfterMs} ms)` : ''}: ${messageOf(error)}`,
              { cause: error },
            ),
    },
  )
}
