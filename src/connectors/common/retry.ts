import { WeirError } from '../../errors.ts'

/** How a connector retries an operation that failed for a reason that may pass (a lost connection, a restarting server). */
export interface RetryOptions {
  /** Delay before the first retry; default 100 ms. */
  initialDelayMs?: number
  /** Upper bound of the delay; default 2000 ms. */
  maxDelayMs?: number
  /** Gives up once the operation has been failing this long; default 60000 ms. */
  giveUpAfterMs?: number
}

/** Retry settings with every field set. */
export type RetrySettings = Required<RetryOptions>

/** Fills in the defaults and rejects settings that cannot work. */
export function retrySettings(options: RetryOptions | undefined, where: string): RetrySettings {
  const settings = { initialDelayMs: 100, maxDelayMs: 2000, giveUpAfterMs: 60_000, ...options }
  for (const [name, value] of Object.entries(settings)) {
    if (!(typeof value === 'number' && value >= 0 && Number.isFinite(value))) {
      throw new WeirError('INVALID_CONFIG', `${where}: retry.${name} must be a non-negative number, got ${String(value)}`)
    }
  }
  return settings
}

/**
 * Exponential backoff with jitter. Jitter spreads the retries of many readers and writers that lost
 * the same server at the same moment, so they do not all knock at once when it comes back.
 */
export class Backoff {
  private attempt = 0
  private failingSince: number | undefined

  constructor(private readonly settings: RetrySettings) {}

  /** The operation succeeded: the next failure starts from the initial delay again. */
  reset(): void {
    this.attempt = 0
    this.failingSince = undefined
  }

  /** How long the operation has been failing, in ms (0 when it is not failing). */
  get failingForMs(): number {
    return this.failingSince === undefined ? 0 : performance.now() - this.failingSince
  }

  /** Records a failure; returns the delay before the next try, or undefined once it is time to give up. */
  next(): number | undefined {
    this.failingSince ??= performance.now()
    if (this.failingForMs > this.settings.giveUpAfterMs) return undefined
    const base = Math.min(this.settings.maxDelayMs, this.settings.initialDelayMs * 2 ** this.attempt++)
    return base * (0.75 + Math.random() * 0.5)
  }
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * Runs `operation` until it succeeds, retrying with backoff while `isTransient` says the failure may
 * pass. A failure that is not transient, or one that outlasts `giveUpAfterMs`, is thrown (as
 * `describe` renders it, so the message says which connector and which server).
 */
export async function withRetry<R>(
  operation: () => Promise<R>,
  options: {
    settings: RetrySettings
    isTransient: (error: unknown) => boolean
    describe: (error: unknown, gaveUp: boolean) => Error
    onRetry?: (error: unknown) => void
    signal?: AbortSignal
  },
): Promise<R> {
  const backoff = new Backoff(options.settings)
  for (;;) {
    try {
      return await operation()
    } catch (error) {
      if (!options.isTransient(error)) throw options.describe(error, false)
      const delay = backoff.next()
      if (delay === undefined) throw options.describe(error, true)
      if (options.signal?.aborted) throw options.describe(error, false)
      options.onRetry?.(error)
      await sleep(delay, options.signal)
    }
  }
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(messageOf).join('; ')
  if (error instanceof Error) return error.message || error.name
  return String(error)
}

/** Node's error code of a failed socket operation, when there is one. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof AggregateError) for (const e of error.errors) if (errnoCode(e)) return errnoCode(e)
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'])

/** True for socket-level failures: the server is down, restarting or unreachable for now. */
export function isNetworkError(error: unknown): boolean {
  const code = errnoCode(error)
  return code !== undefined && NETWORK_CODES.has(code)
}
