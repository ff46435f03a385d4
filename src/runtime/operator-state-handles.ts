import type { OperatorSubtaskState } from '../checkpoint/operator-subtask-state.ts'
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts'
import type { OperatorStateBackend } from '../state/operator-state-backend.ts'
import type { InternalTimeServiceManager } from '../time/timer-service.ts'

/** The state backends of one operator subtask. */
export interface OperatorBackends {
  keyed: KeyedStateBackend | undefined
  operator: OperatorStateBackend
  timers: InternalTimeServiceManager | undefined
}

/** Takes the state of one operator subtask (after the operator's own `snapshotState`). */
export function snapshotOperator(backends: OperatorBackends): OperatorSubtaskState {
  return {
    keyed: backends.keyed?.snapshot(),
    operator: backends.operator.snapshot(),
    timers: backends.timers?.snapshot(),
  }
}

/**
 * Restores one new subtask from the states of every old subtask of the operator, at any old
 * parallelism: keyed state and timers by key-group range, operator state by its redistribution mode.
 */
export function restoreOperator(backends: OperatorBackends, old: readonly OperatorSubtaskState[], subtaskIndex: number, parallelism: number): void {
  const keyed = old.flatMap((s) => (s.keyed ? [s.keyed] : []))
  if (keyed.length > 0) {
    if (!backends.keyed) throw new Error('Restored keyed state for an operator that is not keyed')
    backends.keyed.restore(keyed)
  }
  const timers = old.flatMap((s) => (s.timers ? [s.timers] : []))
  if (timers.length > 0 && backends.timers) backends.timers.restore(timers)
  backends.operator.restore(
    old.map((s) => s.operator),
    subtaskIndex,
    parallelism,
  )
}
