/** Checkpoint settings of a job, as Flink's `CheckpointConfig`. */
export interface CheckpointSettings {
  intervalMs: number
  mode: 'exactly-once' | 'at-least-once'
  /** Barriers overtake in-flight records, which are stored with the checkpoint (exactly-once only). */
  unaligned: boolean
  /** A checkpoint not complete after this long is aborted. */
  timeoutMs: number
  /** At least this long between the end of one checkpoint and the start of the next. */
  minPauseMs: number
  maxConcurrent: number
  /** Consecutive failed checkpoints tolerated before the job fails. */
  tolerableFailures: number
  /** Completed checkpoints kept; older ones are deleted. */
  retained: number
  /** Keep the retained checkpoints when the job is cancelled (externalized checkpoints). */
  retainOnCancellation: boolean
}

/** Flink's defaults, but for the interval, which the job sets. */
export function checkpointSettings(intervalMs: number, overrides: Partial<CheckpointSettings> = {}): CheckpointSettings {
  return {
    intervalMs,
    mode: 'exactly-once',
    unaligned: false,
    timeoutMs: 10 * 60_000,
    minPauseMs: 0,
    maxConcurrent: 1,
    tolerableFailures: 0,
    retained: 1,
    retainOnCancellation: false,
    ...overrides,
  }
}
