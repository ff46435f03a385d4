import type { CompletedSnapshotHandle } from '../../checkpoint/checkpoint-storage.ts'
import type { CheckpointAck } from '../checkpointing/task-checkpoint-gateway.ts'
import type { CheckpointOptions } from '../io/stream-element.ts'
import type { PeerAddress } from './network.ts'
import type { HeartbeatSettings, SerializedError } from './rpc.ts'

/**
 * The control protocol of a cluster, as plain data. Task managers register with the coordinator and
 * then receive deployments and checkpoint calls; they report task ends, checkpoint acks and reader
 * requests. Clients submit, list and cancel jobs. Every attempt of a job has a stream number, unique
 * in the coordinator's life, that tags everything about it, so nothing of a cancelled attempt can
 * reach the next one.
 */

/** Task manager to coordinator, request `register`. */
export interface RegisterParams {
  slots: number
  /** Where other task managers reach this one's data server. */
  dataHost: string
  dataPort: number
  pid: number
}

/** Answer to `register`. */
export interface RegisterResult {
  id: string
  heartbeat: HeartbeatSettings
}

/** Coordinator to task manager, request `deploy`: run these subtasks of an attempt. */
export interface DeployParams {
  stream: number
  jobId: string
  jobName: string
  attemptNumber: number
  attemptId: string
  bundle: string
  args: string[]
  parallelism: number
  /** Task manager id of every subtask, per vertex. */
  placement: string[][]
  /** Data server of every task manager in the placement. */
  peers: Record<string, PeerAddress>
  /** The snapshot to restore from, if any. */
  restore: CompletedSnapshotHandle | null
  /** The cluster's checkpoint directory, for jobs that did not choose their own storage. */
  checkpointDir: string
  /** Record batches each end of a network channel holds: the receiver's credits. */
  networkBuffers: number
  /**
   * What the split enumerators told this task manager's readers while the attempt was being
   * deployed (their initial assignments): delivered into the tasks' mailboxes before the tasks
   * run, as the embedded runner does, so no reader starts without its splits (it would count as
   * idle, and its records could be late once it gets them).
   */
  readerEvents: ReaderEventParams[]
}

/** A failed deployment says whether the snapshot was the problem (then an older one is tried). */
export interface DeployFailure {
  restoreFailed: boolean
}

/** A checkpoint barrier as data. */
export interface BarrierData {
  id: number
  timestamp: number
  options: CheckpointOptions
}

/** Task manager to coordinator, `taskEnded`. */
export interface TaskEndedParams {
  stream: number
  key: string
  outcome: 'finished' | 'failed' | 'cancelled'
  error: SerializedError | null
}

/** Task manager to coordinator, `attemptFailed`: the attempt cannot go on here (a data connection broke). */
export interface AttemptFailedParams {
  stream: number
  error: SerializedError
  /** The task manager at the other end of the broken connection. */
  peer: string
}

/** Task manager to coordinator, `ack`. */
export interface AckParams {
  stream: number
  ack: CheckpointAck
}

/** Task manager to coordinator, `decline`. */
export interface DeclineParams {
  stream: number
  key: string
  checkpointId: number
  reason: string
}

/** Task manager to coordinator: a reader asks its enumerator (`request-split`) or starts (`register`). */
export interface ReaderRequestParams {
  stream: number
  vertex: number
  subtask: number
  kind: 'request-split' | 'register'
}

/** Coordinator to task manager, `readerEvent`: splits are encoded with the source's split serializer. */
export interface ReaderEventParams {
  stream: number
  key: string
  kind: 'add-splits' | 'no-more-splits'
  splits: Uint8Array[]
}

/** Coordinator to task manager: `trigger` a checkpoint at a source task. */
export interface TriggerParams {
  stream: number
  key: string
  barrier: BarrierData
}

/** Coordinator to task manager: `stop` a source task (stop with savepoint). */
export interface StopParams {
  stream: number
  key: string
  drain: boolean
}

/** Coordinator to task manager: checkpoint `complete` or `aborted`, for the tasks listed. */
export interface CheckpointNotifyParams {
  stream: number
  keys: string[]
  checkpointId: number
}

/** Client to coordinator, `submit`. */
export interface SubmitParams {
  name: string
  bundle: Uint8Array
  args: string[]
  /** Default parallelism; 0 leaves the job's own. */
  parallelism: number
}

/** A job as `list` shows it. */
export interface JobInfo {
  jobId: string
  name: string
  status: string
  startTime: number
  endTime: number | null
  restarts: number
  parallelism: number
  /** Completed checkpoints. */
  checkpoints: number
  /** The last failure's message, if any. */
  lastFailure: string | null
}

/** A task manager as `taskManagers` shows it. */
export interface TaskManagerInfo {
  id: string
  pid: number
  slots: number
  freeSlots: number
  dataAddress: string
}

/** Result of `wait`. */
export interface WaitResult {
  status: string
  durationMs: number
  restarts: number
  error: SerializedError | null
}

/** One channel end, as `jobMetrics` reports it. */
export interface ChannelMetrics {
  taskManager: string
  stream: number
  name: string
  kind: 'local' | 'network-out' | 'network-in'
  capacity: number
  batchSize: number
  maxQueuedRecords: number
}

/** One subtask, as `jobMetrics` reports it. */
export interface TaskMetrics {
  taskManager: string
  stream: number
  key: string
  name: string
  recordsIn: number
  recordsOut: number
}

/** Result of `jobMetrics` (and of the task manager's `metrics`). */
export interface JobMetrics {
  channels: ChannelMetrics[]
  tasks: TaskMetrics[]
}
