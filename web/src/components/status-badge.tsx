import type { JobState, TaskState } from '../../../src/web/api-types.ts'

/** A job's or task's state as a coloured label. */
export function StatusBadge({ status }: { status: JobState | TaskState | string }) {
  return (
    <span class={`badge badge-${status.toLowerCase()}`} data-testid="status-badge">
      {status}
    </span>
  )
}
