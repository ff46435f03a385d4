/** Counters of one operator subtask, read by the CLI's progress line and the REST API. */
export class OperatorMetrics {
  recordsIn = 0
  recordsOut = 0
  /** The watermark the operator last received (-Infinity before the first one). */
  currentInputWatermark = Number.NEGATIVE_INFINITY
  /** The watermark the operator last forwarded (-Infinity before the first one). */
  currentOutputWatermark = Number.NEGATIVE_INFINITY
  private readonly perInput = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]
  constructor(
    readonly operatorName: string,
    readonly uid: string,
    readonly subtaskIndex: number,
  ) {}

  /** A watermark reached the head of a task; an operator with two inputs is at the lesser of them. */
  onInputWatermark(input: 1 | 2, watermark: number, twoInputs: boolean): void {
    this.perInput[input - 1] = watermark
    this.currentInputWatermark = twoInputs ? Math.min(this.perInput[0], this.perInput[1]) : watermark
  }
}

/** Why a task is waiting rather than working. */
export type TaskWaitKind = 'idle' | 'backpressured'

/**
 * Where a subtask's time goes, as Flink's idle / back-pressured / busy time: waiting for input is
 * idle, waiting for room in a full output channel is back-pressured, everything else is busy.
 * Totals include a wait still in progress, so a task stuck for a long time shows it at once.
 */
export class TaskTimeMetrics {
  private idle = 0
  private backpressured = 0
  private waiting: TaskWaitKind | undefined
  private waitStart = 0
  /** `performance.now()` when the task was created. */
  readonly startedAt = performance.now()
  /** `performance.now()` when the task ended (finished, failed or cancelled). */
  endedAt: number | undefined

  /** The task starts waiting for a wake-up. */
  beginWait(kind: TaskWaitKind): void {
    this.waiting = kind
    this.waitStart = performance.now()
  }

  /** The task was woken up. */
  endWait(): void {
    if (this.waiting === undefined) return
    const waited = performance.now() - this.waitStart
    if (this.waiting === 'idle') this.idle += waited
    else this.backpressured += waited
    this.waiting = undefined
  }

  /** The task's run ended. */
  end(): void {
    this.endWait()
    this.endedAt ??= performance.now()
  }

  /** Milliseconds spent idle and back-pressured so far, including a wait in progress. */
  totals(now = performance.now()): { idleMs: number; backpressuredMs: number } {
    const ongoing = this.waiting === undefined ? 0 : Math.max(0, now - this.waitStart)
    return {
      idleMs: this.idle + (this.waiting === 'idle' ? ongoing : 0),
      backpressuredMs: this.backpressured + (this.waiting === 'backpressured' ? ongoing : 0),
    }
  }
}
