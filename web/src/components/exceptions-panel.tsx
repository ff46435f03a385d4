import type { JobExceptions } from '../../../src/web/api-types.ts'
import { formatTime } from '../format.ts'

/** The failures of the job, newest first, each with its stack trace folded away. */
export function ExceptionsPanel({ exceptions }: { exceptions: JobExceptions }) {
  const entries = exceptions.exceptionHistory.entries
  if (entries.length === 0) return <p class="muted" data-testid="exceptions-empty">No failures.</p>
  return (
    <ul class="exceptions" data-testid="exceptions">
      {entries.map((e, i) => (
        <li key={`${e.timestamp}-${i}`}>
          <details>
            <summary>
              <span class="muted">{formatTime(e.timestamp)}</span> <strong>{e.code ?? e.exceptionName}</strong>
              {e.taskName && <span class="muted"> in {e.taskName}{e.subtask !== null ? ` (subtask ${e.subtask})` : ''}</span>}
              {' — '}
              {e.message}{' '}
              <span class={`badge ${e.restarting ? 'badge-restarting' : 'badge-failed'}`}>{e.restarting ? 'restarted' : 'job failed'}</span>
            </summary>
            <pre>{e.stacktrace}</pre>
          </details>
        </li>
      ))}
      {exceptions.exceptionHistory.truncated && <li class="muted">Older failures are not shown.</li>}
    </ul>
  )
}
