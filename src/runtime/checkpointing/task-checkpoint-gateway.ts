import type { StateFileHandle } from '../../checkpoint/checkpoint-storage.ts'

/** A task's report that its part of a checkpoint is stored. */
export interface CheckpointAck {
  taskKey: string
  checkpointId: number
  /** One entry per chained operator; no handle where the operator had no state. */
  states: { uid: string; handle: StateFileHandle | undefined }[]
  /** Time the task stopped processing to take the snapshot. */
  syncMs: number
  /** Time spent serializing and writing while processing went on. */
  asyncMs: number
  /** Time from the first barrier to the last (0 in source tasks). */
  alignmentMs: number
  /** Bytes written. */
  bytes: number
}

/** How a task talks to the checkpoint coordinator. */
export interface TaskCheckpointGateway {
  acknowledge(ack: CheckpointAck): void
  decline(taskKey: string, checkpointId: number, reason: unknown): void
  /**
   * A source task has emitted all its input. It must not end before a checkpoint covering that
   * input is complete (sinks commit on it); resolves when it may end.
   */
  sourceReachedEnd(taskKey: string): Promise<void>
}
