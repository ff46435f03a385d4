/** Figures of one checkpoint, for the REST API, the dashboard and tests. */
export interface CheckpointStats {
  id: number
  kind: 'checkpoint' | 'savepoint'
  status: 'in-progress' | 'completed' | 'failed'
  triggerTimestamp: number
  /** From trigger to completion (or failure). */
  durationMs: number
  /** Largest synchronous pause over the subtasks. */
  syncMs: number
  /** Largest asynchronous (write) time over the subtasks. */
  asyncMs: number
  /** Largest barrier alignment time over the subtasks. */
  alignmentMs: number
  bytes: number
  acknowledged: number
  total: number
  failureReason?: string
  /** Where the completed snapshot is. */
  pointer?: string
  /** One entry per subtask that acknowledged, in the order they did. */
  subtasks?: CheckpointSubtaskStats[]
}

/** What one subtask reported when it acknowledged a checkpoint. */
export interface CheckpointSubtaskStats {
  /** The subtask's key: `<vertex id>-<subtask index>`. */
  taskKey: string
  /** Wall-clock time of the acknowledgement. */
  ackTimestamp: number
  syncMs: number
  asyncMs: number
  alignmentMs: number
  bytes: number
}
