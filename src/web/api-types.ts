/**
 * The shapes the REST API returns. The dashboard imports these types too, so server and client
 * cannot drift apart; `schemas.ts` describes the same shapes for validation, serialization and
 * the OpenAPI document. Times are wall-clock milliseconds since the epoch, durations milliseconds.
 */

/** A job's state, with Flink's names. */
export type JobState = 'CREATED' | 'RUNNING' | 'RESTARTING' | 'CANCELLING' | 'CANCELED' | 'FINISHED' | 'FAILED'

/** A subtask's (or a whole vertex's) state, with Flink's names. */
export type TaskState = 'CREATED' | 'RUNNING' | 'CANCELING' | 'CANCELED' | 'FINISHED' | 'FAILED'

/** Flink's levels of back pressure: ok up to 10 % of the time, low up to 50 %, high above. */
export type BackpressureLevel = 'ok' | 'low' | 'high'

/** Error body of every 4xx and 5xx answer. */
export interface ErrorBody {
  errors: string[]
}

/** One entry of `GET /jobs`. */
export interface JobSummary {
  id: string
  name: string
  status: JobState
  startTime: number
  /** -1 while the job is not terminal, as in Flink. */
  endTime: number
  duration: number
}

/** `GET /jobs`. */
export interface JobList {
  jobs: JobSummary[]
}

/** `GET /overview`: counts of jobs by state. */
export interface Overview {
  weirVersion: string
  jobsRunning: number
  jobsFinished: number
  jobsCancelled: number
  jobsFailed: number
}

/** An operator of a vertex's chain. */
export interface OperatorRef {
  /** The operator's node id in the stream graph. */
  id: number
  uid: string
  name: string
}

/** Figures of a vertex, summed (records) or taken at the worst subtask (ratios) over its subtasks. */
export interface VertexMetrics {
  /** Records into the head of the chain (0 for sources). */
  readRecords: number
  /** Records sent to other tasks (or, for the last vertex, emitted by its last operator). */
  writeRecords: number
  readRecordsPerSecond: number
  writeRecordsPerSecond: number
  /** Largest share of time a subtask spent waiting for room in a full output channel. */
  backpressureRatio: number
  backpressureLevel: BackpressureLevel
  /** Largest share of time a subtask spent working. */
  busyRatio: number
  /** Smallest share of time a subtask spent waiting for input. */
  idleRatio: number
  /**
   * Lowest watermark over the subtasks' heads (for a source: what it emitted); null before the
   * first one, `Number.MAX_SAFE_INTEGER` at the end of input.
   */
  watermark: number | null
}

/** A vertex (a chain of operators run as one task per subtask) in `GET /jobs/:jobId`. */
export interface VertexSummary {
  id: number
  name: string
  parallelism: number
  maxParallelism: number
  status: TaskState
  operators: OperatorRef[]
  metrics: VertexMetrics
}

/** A channel edge between two vertices. */
export interface EdgeSummary {
  source: number
  target: number
  /** FORWARD, REBALANCE, HASH, BROADCAST... */
  shipStrategy: string
  /** The side output the edge carries, if any. */
  sideOutput: string | null
}

/** `GET /jobs/:jobId`. */
export interface JobDetails {
  jid: string
  name: string
  state: JobState
  startTime: number
  endTime: number
  duration: number
  /** The server's clock when it answered. */
  now: number
  restarts: number
  checkpointingEnabled: boolean
  vertices: VertexSummary[]
  edges: EdgeSummary[]
}

/** One operator's figures in one subtask. */
export interface OperatorMetricsView {
  id: number
  uid: string
  name: string
  numRecordsIn: number
  numRecordsOut: number
  numRecordsInPerSecond: number
  numRecordsOutPerSecond: number
  /** Null before the first watermark, `Number.MAX_SAFE_INTEGER` at the end of input. */
  currentInputWatermark: number | null
  currentOutputWatermark: number | null
}

/** One subtask in `GET /jobs/:jobId/vertices/:vertexId`. */
export interface SubtaskDetails {
  subtask: number
  status: TaskState
  /** The job attempt the subtask belongs to (0 before any restart). */
  attempt: number
  duration: number
  readRecords: number
  writeRecords: number
  readRecordsPerSecond: number
  writeRecordsPerSecond: number
  backpressureRatio: number
  backpressureLevel: BackpressureLevel
  busyRatio: number
  idleRatio: number
  /** Since the subtask started. */
  accumulatedBackpressuredMs: number
  accumulatedIdleMs: number
  accumulatedBusyMs: number
  operators: OperatorMetricsView[]
}

/** `GET /jobs/:jobId/vertices/:vertexId`. */
export interface VertexDetails {
  id: number
  name: string
  parallelism: number
  maxParallelism: number
  status: TaskState
  now: number
  operators: OperatorRef[]
  metrics: VertexMetrics
  subtasks: SubtaskDetails[]
}

/** `GET /jobs/:jobId/vertices/:vertexId/backpressure`, as Flink's. */
export interface BackpressureInfo {
  status: 'ok'
  backpressureLevel: BackpressureLevel
  endTimestamp: number
  subtasks: { subtask: number; backpressureLevel: BackpressureLevel; ratio: number; idleRatio: number; busyRatio: number }[]
}

/** One entry of `GET /jobs/:jobId/vertices/:vertexId/watermarks`, as Flink's (`<subtask>.currentInputWatermark`). */
export interface WatermarkEntry {
  id: string
  value: number | null
}

/** A checkpoint's or savepoint's state. */
export type CheckpointStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED'

/** One checkpoint or savepoint of the history. */
export interface CheckpointEntry {
  id: number
  status: CheckpointStatus
  isSavepoint: boolean
  triggerTimestamp: number
  /** Null until a subtask acknowledged. */
  latestAckTimestamp: number | null
  endToEndDuration: number
  /** Largest over the subtasks. */
  syncDuration: number
  asyncDuration: number
  alignmentDuration: number
  stateSize: number
  numSubtasks: number
  numAcknowledgedSubtasks: number
  externalPath: string | null
  failureMessage: string | null
}

/** Minimum, maximum, average and percentiles of a figure over completed checkpoints. */
export interface StatsSummary {
  min: number
  max: number
  avg: number
  p50: number
  p90: number
  p99: number
}

/** `GET /jobs/:jobId/checkpoints`, shaped as Flink's. */
export interface CheckpointingStatistics {
  counts: { total: number; inProgress: number; completed: number; failed: number }
  /** Over completed checkpoints and savepoints; null when none completed. */
  summary: {
    endToEndDuration: StatsSummary
    stateSize: StatsSummary
    syncDuration: StatsSummary
    asyncDuration: StatsSummary
    alignmentDuration: StatsSummary
  } | null
  latest: { completed: CheckpointEntry | null; savepoint: CheckpointEntry | null; failed: CheckpointEntry | null }
  /** Newest first, at most `limit` entries. */
  history: CheckpointEntry[]
}

/** One subtask's part of a checkpoint. */
export interface CheckpointSubtaskEntry {
  subtask: number
  status: 'COMPLETED' | 'PENDING'
  ackTimestamp: number | null
  endToEndDuration: number | null
  syncDuration: number | null
  asyncDuration: number | null
  alignmentDuration: number | null
  stateSize: number | null
}

/** `GET /jobs/:jobId/checkpoints/details/:checkpointId`. */
export interface CheckpointDetails extends CheckpointEntry {
  tasks: {
    vertexId: number
    name: string
    numSubtasks: number
    numAcknowledgedSubtasks: number
    stateSize: number
    subtasks: CheckpointSubtaskEntry[]
  }[]
}

/** Answer to a trigger (checkpoint, savepoint): poll the operation with this id. */
export interface TriggerResponse {
  requestId: string
}

/** `GET /jobs/:jobId/savepoints/:triggerId` and `.../checkpoints/:triggerId`, as Flink's asynchronous operation result. */
export interface AsyncOperationResult {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' }
  /** Present once completed: where the snapshot is, or why it failed. */
  operation: {
    checkpointId: number | null
    location: string | null
    failureCause: { class: string; code: string | null; message: string } | null
  } | null
}

/** One failure in the exceptions history. */
export interface ExceptionEntry {
  exceptionName: string
  /** The `WeirError` code, when the error has one. */
  code: string | null
  message: string
  stacktrace: string
  timestamp: number
  /** The operator and subtask that failed, when known. */
  taskName: string | null
  subtask: number | null
  attempt: number
  /** Whether the job restarted after it. */
  restarting: boolean
}

/** `GET /jobs/:jobId/exceptions`, shaped as Flink's. */
export interface JobExceptions {
  exceptionHistory: { entries: ExceptionEntry[]; truncated: boolean }
  /** The most recent failure's message, if any. */
  rootException: string | null
  timestamp: number | null
}
