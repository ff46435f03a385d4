import { seededRandom } from '../../../examples/word-count-input.ts'

/** Where a planned failure strikes. */
export type FailurePoint = 'record' | 'snapshot' | 'commit'

interface PlannedFailure {
  point: FailurePoint
  /** Fires when this many events of its point were seen since the previous failure. */
  after: number
}

/**
 * A seeded plan of failures for one job run: each failure throws once its point (a processed
 * record, an operator snapshot, a sink commit) has been reached a planned number of times since the
 * previous failure. Shared by every subtask of the job (the embedded runner is one process).
 */
export class FailureInjector {
  private readonly plan: PlannedFailure[]
  private readonly seen: Record<FailurePoint, number> = { record: 0, snapshot: 0, commit: 0 }
  /** Failures that fired, in order. */
  readonly fired: string[] = []

  constructor(seed: number, failures: number, recordsPerRun: number, points: readonly FailurePoint[] = ['record', 'snapshot', 'commit']) {
    const random = seededRandom(seed)
    this.plan = Array.from({ length: failures }, () => {
      const r = random()
      const wanted: FailurePoint = r < 0.5 ? 'record' : r < 0.75 ? 'snapshot' : 'commit'
      const point = points.includes(wanted) ? wanted : points[0]
      const after = point === 'record' ? 1 + Math.floor(random() * recordsPerRun * 0.8) : 1 + Math.floor(random() * 3)
      return { point, after }
    })
  }

  /** Counts one event at `point` and throws if the next planned failure is due. */
  check(point: FailurePoint, where: string): void {
    const next = this.plan[0]
    if (!next || next.point !== point) return
    if (++this.seen[point] < next.after) return
    this.plan.shift()
    this.seen.record = this.seen.snapshot = this.seen.commit = 0
    this.fired.push(`${point}@${where}`)
    throw new Error(`injected failure #${this.fired.length} at ${point} (${where})`)
  }
}
