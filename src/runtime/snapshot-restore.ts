import type { CompletedSnapshotHandle, StateFileHandle } from '../checkpoint/checkpoint-storage.ts'
import type { OperatorSubtaskState } from '../checkpoint/operator-subtask-state.ts'
import { internalPackr } from '../api/serialization/types.ts'
import { WeirError } from '../errors.ts'
import type { JobGraph } from '../graph/job-graph.ts'

/** Reads one subtask's state file of a snapshot. */
export type StateReader = (handle: CompletedSnapshotHandle, file: StateFileHandle) => Promise<OperatorSubtaskState>

/** A snapshot to start from and how to read its files. */
export interface RestoreSource {
  handle: CompletedSnapshotHandle
  read: StateReader
}

/** What a restore hands to the tasks and to the split enumerators. */
export interface RestoredSnapshot {
  /** Per operator uid, the state of every old subtask. */
  states: Map<string, OperatorSubtaskState[]>
  /** Enumerator state per source uid. */
  enumerators: Map<string, unknown>
}

/**
 * A snapshot could not be used to start an attempt (a file is corrupt or missing, or it does not fit
 * the job). The runner then tries an older checkpoint.
 */
export class SnapshotRestoreError extends WeirError {
  constructor(
    readonly pointer: string,
    readonly checkpointId: number,
    cause: unknown,
  ) {
    const message = cause instanceof WeirError ? `${cause.code}: ${cause.message}` : cause instanceof Error ? cause.message : String(cause)
    super('SNAPSHOT_RESTORE_FAILED', message, { cause })
  }
}

const EMPTY_STATE: OperatorSubtaskState = { keyed: undefined, operator: { states: [] }, timers: undefined }

/** Checks that a snapshot fits the job: no state of unknown operators (unless allowed), same max parallelism. */
export function checkSnapshotFits(graph: JobGraph, handle: CompletedSnapshotHandle, allowNonRestoredState: boolean): void {
  const nodes = new Map(graph.vertices.flatMap((v) => v.nodes.map((n) => [n.uid, n] as const)))
  const unmatched = handle.metadata.operators.filter((o) => !nodes.has(o.uid) && o.subtasks.some((s) => s !== undefined))
  if (unmatched.length > 0 && !allowNonRestoredState) {
    throw new WeirError(
      'UNMATCHED_STATE',
      `${handle.kind} ${handle.pointer} has state for operators this job does not have: ${unmatched.map((o) => `'${o.uid}' (${o.name})`).join(', ')}; set allowNonRestoredState to drop it`,
    )
  }
  for (const op of handle.metadata.operators) {
    const node = nodes.get(op.uid)
    if (node && op.maxParallelism !== node.maxParallelism && op.subtasks.some((s) => s !== undefined)) {
      throw new WeirError(
        'MAX_PARALLELISM_MISMATCH',
        `Operator '${op.uid}' was snapshotted with max parallelism ${op.maxParallelism} but the job has ${node.maxParallelism}; max parallelism cannot change`,
      )
    }
  }
}

/** Reads the subtask files of the operators in `uids` (every old subtask of each). */
export async function loadOperatorStates(handle: CompletedSnapshotHandle, read: StateReader, uids: ReadonlySet<string>): Promise<Map<string, OperatorSubtaskState[]>> {
  const states = new Map<string, OperatorSubtaskState[]>()
  for (const op of handle.metadata.operators) {
    if (!uids.has(op.uid)) continue
    states.set(op.uid, await Promise.all(op.subtasks.map((s) => (s ? read(handle, s) : Promise.resolve(EMPTY_STATE)))))
  }
  return states
}

/** The split enumerators' states recorded in a snapshot, per source uid. */
export function decodeEnumeratorStates(handle: CompletedSnapshotHandle): Map<string, unknown> {
  const enumerators = new Map<string, unknown>()
  for (const e of handle.metadata.sourceEnumerators) enumerators.set(e.uid, internalPackr.unpack(Buffer.from(e.state, 'base64')))
  return enumerators
}

/** Reads every subtask file of a snapshot, checking it against the job's operators. */
export async function loadSnapshot(graph: JobGraph, source: RestoreSource, allowNonRestoredState: boolean): Promise<RestoredSnapshot> {
  checkSnapshotFits(graph, source.handle, allowNonRestoredState)
  const uids = new Set(graph.vertices.flatMap((v) => v.nodes.map((n) => n.uid)))
  return { states: await loadOperatorStates(source.handle, source.read, uids), enumerators: decodeEnumeratorStates(source.handle) }
}
