import type { StateTtlConfig, TtlTimeProvider } from '../ttl.ts'

/** Marks "no value" where `undefined` may be a legitimate value (map values). */
export const ABSENT: unique symbol = Symbol('absent')
/** Type of `ABSENT`. */
export type Absent = typeof ABSENT

/** A value stored with its expiry time, for states with TTL. Replaced, never mutated, on refresh. */
export class TtlValue<T> {
  constructor(
    readonly value: T,
    readonly expiresAt: number,
  ) {}
}

/** A descriptor's TTL settings resolved against their defaults, with the clock to measure them. */
export class TtlPolicy {
  readonly ttlMs: number
  readonly updateOnRead: boolean
  readonly returnExpired: boolean
  readonly cleanupInSnapshot: boolean

  constructor(
    readonly config: StateTtlConfig,
    private readonly clock: TtlTimeProvider,
  ) {
    this.ttlMs = config.ttlMs
    this.updateOnRead = config.updateType === 'onReadAndWrite'
    this.returnExpired = config.visibility === 'returnExpiredIfNotCleanedUp'
    this.cleanupInSnapshot = config.cleanupInSnapshot !== false
  }

  /** The policy of a descriptor, or null for state without TTL. */
  static of(config: StateTtlConfig | undefined, clock: TtlTimeProvider): TtlPolicy | null {
    return config === undefined ? null : new TtlPolicy(config, clock)
  }

  now(): number {
    return this.clock.now()
  }

  /** Expiry of something written now. */
  expiry(): number {
    return this.clock.now() + this.ttlMs
  }
}

/** As Flink: an entry whose expiry time has been reached is expired. */
export function isExpired(expiresAt: number, now: number): boolean {
  return expiresAt <= now
}
