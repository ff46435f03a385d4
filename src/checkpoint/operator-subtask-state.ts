import type { KeyedStateSnapshot, OperatorStateSnapshot } from '../state/snapshot.ts'
import type { TimersSnapshot } from '../time/timer-service.ts'

/**
 * Records in flight between tasks when an unaligned checkpoint was taken, each batch msgpack-encoded
 * as `[values, timestamps]`. Inputs: what the task read after its snapshot but before the barrier on
 * that channel. Outputs: what it had emitted that its consumers had not read yet.
 */
export interface ChannelState {
  inputs: { channel: number; batches: Uint8Array[] }[]
  outputs: { writer: number; channel: number; batches: Uint8Array[] }[]
}

/** The state one operator subtask contributes to a checkpoint or savepoint. */
export interface OperatorSubtaskState {
  keyed: KeyedStateSnapshot | undefined
  operator: OperatorStateSnapshot
  timers: TimersSnapshot | undefined
  /** In-flight records of an unaligned checkpoint; only on the first operator of a task. */
  channels?: ChannelState
}
