import type { KeyedStateSnapshot, OperatorStateSnapshot } from '../state/snapshot.ts'
import type { TimersSnapshot } from '../time/timer-service.ts'

/** The state one operator subtask contributes to a checkpoint or savepoint. */
export interface OperatorSubtaskState {
  keyed: KeyedStateSnapshot | undefined
  operator: OperatorStateSnapshot
  timers: TimersSnapshot | undefined
}
