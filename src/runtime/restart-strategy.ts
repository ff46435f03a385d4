import { WeirError } from '../errors.ts'

/**
 * Restart strategies, as Flink's: after a failure the runtime asks the job's strategy whether to
 * restart from the latest checkpoint and how long to wait first. A strategy object lives as long as
 * the job and keeps what it needs (attempts used, recent failures); it reads no clock of its own, so
 * given the same failure times and random source it decides the same way every time.
 */

/** What to do after a failure. */
export interface RestartDecision {
  restart: boolean
  /** How long to wait before restarting; 0 when not restarting. */
  delayMs: number
}

/** Decides, failure by failure, whether a job restarts. */
export interface RestartStrategy {
  /** The strategy's name, as in the configuration. */
  readonly kind: RestartStrategyConfig['type']
  /** Records a failure at `nowMs` (any monotonic millisecond clock) and decides. */
  onFailure(nowMs: number): RestartDecision
  /** For logs: the settings and what has been used, e.g. "fixed delay (1000 ms): 2 of 3 attempts used". */
  describe(nowMs?: number): string
}

/** A restart strategy as configuration (plain data, so it can be stored and shipped with a job). */
export type RestartStrategyConfig =
  | { type: 'none' }
  | { type: 'fixed-delay'; attempts: number; delayMs: number }
  | ({ type: 'exponential-delay' } & ExponentialDelayOptions)
  | ({ type: 'failure-rate' } & FailureRateOptions)

/** Settings of the exponential-delay strategy; all optional, with Flink's defaults. */
export interface ExponentialDelayOptions {
  /** Delay before the first restart; default 1000. */
  initialMs?: number
  /** Upper bound of the delay (before jitter); default 60000. */
  maxMs?: number
  /** Factor the delay grows by with each failure; default 1.5. */
  multiplier?: number
  /** Each delay is spread at random by up to this fraction of it, either way (0..1); default 0.1. */
  jitter?: number
  /** After running this long without a failure, the delay starts from `initialMs` again; default 3600000. */
  resetAfterMs?: number
  /** Restarts allowed between two resets; default unlimited. */
  maxAttempts?: number
}

/** Settings of the failure-rate strategy. */
export interface FailureRateOptions {
  /** The job fails for good when more failures than this fall within `intervalMs`. */
  maxFailures: number
  intervalMs: number
  /** Delay before each restart. */
  delayMs: number
}

/** A source of uniformly distributed numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number

/** Never restarts: the first failure fails the job. */
export function noRestart(): RestartStrategy {
  let failures = 0
  return {
    kind: 'none',
    onFailure() {
      failures++
      return { restart: false, delayMs: 0 }
    },
    describe: () => `no restart${failures > 0 ? ` (${failures} failure${failures === 1 ? '' : 's'})` : ''}`,
  }
}

/** Restarts up to `attempts` times, waiting `delayMs` before each; the next failure fails the job. */
export function fixedDelay(attempts: number, delayMs: number): RestartStrategy {
  checkCount('fixed delay: attempts', attempts, 0)
  checkDuration('fixed delay: delayMs', delayMs)
  let used = 0
  let exhausted = false
  return {
    kind: 'fixed-delay',
    onFailure() {
      if (used >= attempts) {
        exhausted = true
        return { restart: false, delayMs: 0 }
      }
      used++
      return { restart: true, delayMs }
    },
    describe: () => `fixed delay (${delayMs} ms): ${used} of ${attempts} attempts used${exhausted ? ', no attempts left' : ''}`,
  }
}

/**
 * Restarts with a delay that grows by `multiplier` per failure up to `maxMs`, spread by `jitter`.
 * When the job has run `resetAfterMs` since its last restart, the next failure starts again from
 * `initialMs`, so a job that fails rarely is restarted quickly.
 */
export function exponentialDelay(options: ExponentialDelayOptions = {}, random: RandomSource = Math.random): RestartStrategy {
  const initialMs = options.initialMs ?? 1000
  const maxMs = options.maxMs ?? 60_000
  const multiplier = options.multiplier ?? 1.5
  const jitter = options.jitter ?? 0.1
  const resetAfterMs = options.resetAfterMs ?? 3_600_000
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY
  checkDuration('exponential delay: initialMs', initialMs)
  checkDuration('exponential delay: maxMs', maxMs)
  if (maxMs < initialMs) throw invalid(`exponential delay: maxMs (${maxMs}) must not be below initialMs (${initialMs})`)
  if (!(Number.isFinite(multiplier) && multiplier >= 1)) throw invalid(`exponential delay: multiplier must be a number of at least 1, got ${multiplier}`)
  if (!(jitter >= 0 && jitter <= 1)) throw invalid(`exponential delay: jitter must be between 0 and 1, got ${jitter}`)
  checkDuration('exponential delay: resetAfterMs', resetAfterMs)
  if (maxAttempts !== Number.POSITIVE_INFINITY) checkCount('exponential delay: maxAttempts', maxAttempts, 0)

  /** Delay before jitter; undefined until the first failure and after a reset. */
  let baseMs: number | undefined
  let lastFailureMs = 0
  let lastDelayMs = 0
  let attempts = 0
  let exhausted = false
  return {
    kind: 'exponential-delay',
    onFailure(nowMs) {
      // Stable time counts from the restart, not from the failure: the wait itself is not running.
      if (baseMs !== undefined && nowMs - (lastFailureMs + lastDelayMs) >= resetAfterMs) {
        baseMs = undefined
        attempts = 0
      }
      lastFailureMs = nowMs
      if (attempts >= maxAttempts) {
        exhausted = true
        lastDelayMs = 0
        return { restart: false, delayMs: 0 }
      }
      baseMs = baseMs === undefined ? initialMs : Math.min(baseMs * multiplier, maxMs)
      const spread = jitter === 0 ? 0 : baseMs * jitter * (2 * random() - 1)
      lastDelayMs = Math.max(0, Math.round(baseMs + spread))
      attempts++
      return { restart: true, delayMs: lastDelayMs }
    },
    describe() {
      const limit = maxAttempts === Number.POSITIVE_INFINITY ? '' : ` of ${maxAttempts}`
      const state = baseMs === undefined ? 'no recent failures' : `last delay ${lastDelayMs} ms, ${attempts}${limit} restarts since the last reset${exhausted ? ', no attempts left' : ''}`
      return `exponential delay (${initialMs} ms to ${maxMs} ms, x${multiplier}, jitter ${jitter}, reset after ${resetAfterMs} ms stable): ${state}`
    },
  }
}

/**
 * Restarts after `delayMs` as long as no more than `maxFailures` failures fall within any window of
 * `intervalMs`; one more fails the job.
 */
export function failureRate(options: FailureRateOptions): RestartStrategy {
  const { maxFailures, intervalMs, delayMs } = options
  checkCount('failure rate: maxFailures', maxFailures, 1)
  checkDuration('failure rate: intervalMs', intervalMs)
  if (intervalMs === 0) throw invalid('failure rate: intervalMs must be positive')
  checkDuration('failure rate: delayMs', delayMs)
  let failures: number[] = []
  let exceeded = false
  const recent = (nowMs: number): number[] => failures.filter((t) => nowMs - t < intervalMs)
  return {
    kind: 'failure-rate',
    onFailure(nowMs) {
      failures = recent(nowMs)
      failures.push(nowMs)
      if (failures.length > maxFailures) {
        exceeded = true
        return { restart: false, delayMs: 0 }
      }
      return { restart: true, delayMs }
    },
    describe(nowMs) {
      const count = nowMs === undefined ? failures.length : recent(nowMs).length
      return `failure rate (at most ${maxFailures} failures per ${intervalMs} ms, delay ${delayMs} ms): ${count} failure${count === 1 ? '' : 's'} in the window${exceeded ? ', rate exceeded' : ''}`
    },
  }
}

/** The strategies by name, as `RestartStrategies.fixedDelay(3, 1000)`. */
export const RestartStrategies = {
  none: noRestart,
  fixedDelay,
  exponentialDelay,
  failureRate,
} as const

/** Creates a strategy from its configuration; `random` feeds the jitter of exponential delay. */
export function createRestartStrategy(config: RestartStrategyConfig, random: RandomSource = Math.random): RestartStrategy {
  switch (config.type) {
    case 'none':
      return noRestart()
    case 'fixed-delay':
      return fixedDelay(config.attempts, config.delayMs)
    case 'exponential-delay': {
      const { type: _type, ...options } = config
      return exponentialDelay(options, random)
    }
    case 'failure-rate':
      return failureRate(config)
    default:
      throw invalid(`unknown restart strategy type ${JSON.stringify((config as { type: unknown }).type)}`)
  }
}

/** A random source from a seed (mulberry32): the same seed gives the same jitter, for tests and replays. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function checkCount(what: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw invalid(`${what} must be an integer of at least ${min}, got ${value}`)
}

function checkDuration(what: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) throw invalid(`${what} must be a non-negative number of milliseconds, got ${value}`)
}

function invalid(message: string): WeirError {
  return new WeirError('INVALID_RESTART_STRATEGY', `Invalid restart strategy: ${message}`)
}
