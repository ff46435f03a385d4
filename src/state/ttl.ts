/** When the time to live of a state entry is (re)started. */
export type TtlUpdateType = 'onCreateAndWrite' | 'onReadAndWrite'

/** Whether an expired entry that was not cleaned up yet may still be read. */
export type TtlVisibility = 'neverReturnExpired' | 'returnExpiredIfNotCleanedUp'

/** Time to live of keyed state entries, as Flink's `StateTtlConfig`. */
export interface StateTtlConfig {
  /** Lifetime of an entry in milliseconds of processing time. */
  ttlMs: number
  updateType?: TtlUpdateType
  visibility?: TtlVisibility
  /** Drop expired entries when a snapshot is taken (default true). */
  cleanupInSnapshot?: boolean
}

/** The clock TTL is measured against; tests pass a manual one. */
export interface TtlTimeProvider {
  now(): number
}

/** The wall clock. */
export const systemTimeProvider: TtlTimeProvider = { now: () => Date.now() }

/** A clock a test moves by hand. */
export class ManualTimeProvider implements TtlTimeProvider {
  constructor(private time = 0) {}
  now(): number {
    return this.time
  }
  set(time: number): void {
    this.time = time
  }
  advance(ms: number): void {
    this.time += ms
  }
}
