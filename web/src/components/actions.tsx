import { useEffect, useRef, useState } from 'preact/hooks'
import type { AsyncOperationResult, TriggerResponse } from '../../../src/web/api-types.ts'
import { getJson, sendJson } from '../api.ts'

/** Where a savepoint or checkpoint the user triggered stands. */
type Operation =
  | { state: 'idle' }
  | { state: 'running'; kind: string; requestId: string }
  | { state: 'done'; kind: string; text: string; ok: boolean }

/** Polls an operation until it completes; returns what to show. */
async function follow(jobId: string, kind: 'savepoints' | 'checkpoints', requestId: string, alive: () => boolean): Promise<{ text: string; ok: boolean }> {
  for (;;) {
    const result = await getJson<AsyncOperationResult>(`/jobs/${encodeURIComponent(jobId)}/${kind}/${encodeURIComponent(requestId)}`)
    const op = result.operation
    if (result.status.id === 'COMPLETED' && op) {
      if (op.failureCause) return { text: `failed: ${op.failureCause.message}`, ok: false }
      return { text: `${op.checkpointId ?? ''} completed at ${op.location ?? '?'}`, ok: true }
    }
    if (!alive()) return { text: 'stopped following', ok: false }
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Buttons: trigger a savepoint or a checkpoint, cancel the job (asks for a second click). */
export function Actions({ jobId, running, checkpointing, onChange }: { jobId: string; running: boolean; checkpointing: boolean; onChange: () => void }) {
  const [operation, setOperation] = useState<Operation>({ state: 'idle' })
  const [confirmCancel, setConfirmCancel] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)
  const alive = useRef(true)
  useEffect(() => () => void (alive.current = false), [])

  const trigger = async (kind: 'savepoints' | 'checkpoints'): Promise<void> => {
    const label = kind === 'savepoints' ? 'Savepoint' : 'Checkpoint'
    setError(undefined)
    try {
      const { requestId } = await sendJson<TriggerResponse>('POST', `/jobs/${encodeURIComponent(jobId)}/${kind}`, {})
      setOperation({ state: 'running', kind: label, requestId })
      const outcome = await follow(jobId, kind, requestId, () => alive.current)
      if (alive.current) setOperation({ state: 'done', kind: label, ...outcome })
      onChange()
    } catch (e) {
      setOperation({ state: 'done', kind: label, text: `failed: ${e instanceof Error ? e.message : String(e)}`, ok: false })
    }
  }

  const cancel = async (): Promise<void> => {
    if (!confirmCancel) {
      setConfirmCancel(true)
      return
    }
    setConfirmCancel(false)
    try {
      await sendJson('POST', `/jobs/${encodeURIComponent(jobId)}/cancel`, {})
      onChange()
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    }
  }

  const busy = operation.state === 'running'
  return (
    <div class="actions">
      <div class="buttons">
        <button data-testid="trigger-savepoint" disabled={!running || !checkpointing || busy} onClick={() => void trigger('savepoints')}>
          Trigger savepoint
        </button>
        <button data-testid="trigger-checkpoint" disabled={!running || !checkpointing || busy} onClick={() => void trigger('checkpoints')}>
          Trigger checkpoint
        </button>
        <button data-testid="cancel-job" class={confirmCancel ? 'danger confirm' : 'danger'} disabled={!running} onClick={() => void cancel()} onBlur={() => setConfirmCancel(false)}>
          {confirmCancel ? 'Click again to cancel' : 'Cancel job'}
        </button>
      </div>
      <div class="small" data-testid="operation-status" data-state={operation.state === 'done' ? (operation.ok ? 'completed' : 'failed') : operation.state}>
        {operation.state === 'running' && <span class="muted">{operation.kind} in progress…</span>}
        {operation.state === 'done' && <span class={operation.ok ? 'ok' : 'error'}>{`${operation.kind} ${operation.text}`}</span>}
        {error && <span class="error">{error}</span>}
      </div>
    </div>
  )
}
