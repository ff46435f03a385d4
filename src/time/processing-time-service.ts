/** A scheduled callback that can be cancelled. */
export interface Cancellable {
  cancel(): void
}

/**
 * Processing time as a task sees it. Callbacks run inside the task (between records), never
 * concurrently with the operator, so they may touch state.
 */
export interface ProcessingTimeService {
  now(): number
  /** Calls `callback(time)` once the clock reaches `time` (immediately if it has). */
  schedule(time: number, callback: (time: number) => void): Cancellable
}
