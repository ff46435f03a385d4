import type { OperatorSubtaskState } from '../checkpoint/operator-subtask-state.ts'
import type { JobGraph } from '../graph/job-graph.ts'
import { SourceOperator } from '../operators/source/source-operator.ts'
import type { StateBackend } from '../state/state-backend.ts'
import type { CheckpointTarget } from './checkpointing/checkpoint-coordinator.ts'
import { LocalChannel } from './io/local-channel.ts'
import { applyReaderEvent, SourceCoordinator } from './source-coordinator.ts'
import { StreamTask, TaskCancelledError, type TaskDeployment } from './stream-task.ts'
import { buildTaskDeployments, planChannels } from './task-deployments.ts'

/** Settings of the local runner. */
export interface LocalExecutorOptions {
  stateBackend: StateBackend
  /** Records per batch between tasks. */
  batchSize: number
  /** Batches a channel holds before its producer waits. */
  channelCapacity: number
}

/** What one attempt (one run between failures) needs beyond the graph. */
export interface AttemptSetup {
  jobId: string
  attemptNumber: number
  attemptId: string
  checkpointing: TaskDeployment['checkpointing']
  restored: ReadonlyMap<string, readonly OperatorSubtaskState[]> | undefined
  /** Enumerator states per source uid. */
  restoredEnumerators: ReadonlyMap<string, unknown> | undefined
}

/** One run of a job's tasks in this process. */
export interface LocalAttempt {
  readonly tasks: readonly StreamTask[]
  readonly channels: readonly LocalChannel[]
  readonly sources: readonly { uid: string; coordinator: SourceCoordinator }[]
  /** Every task, for the checkpoint coordinator. */
  readonly targets: readonly CheckpointTarget[]
  snapshotEnumerators(checkpointId: number): { uid: string; state: unknown }[]
  /** Resolves when every task finished; rejects with the first failure (the others are cancelled). */
  readonly done: Promise<void>
  cancel(): void
}

/** What the checkpoint coordinator needs of a task in this process. */
export function taskTarget(t: StreamTask): CheckpointTarget {
  return {
    key: t.key,
    isSource: t.isSource,
    triggerCheckpoint: (b) => t.triggerCheckpoint(b),
    requestStop: (drain) => t.requestStop(drain),
    notifyCheckpointComplete: (id) => t.notifyCheckpointComplete(id),
    notifyCheckpointAborted: (id) => t.notifyCheckpointAborted(id),
  }
}

/** Starts every subtask of a job graph inside this process, connected by bounded channels. */
export function startAttempt(graph: JobGraph, options: LocalExecutorOptions, setup: AttemptSetup): LocalAttempt {
  const allChannels: LocalChannel[] = []
  const taskAt = new Map<string, StreamTask>()
  const sources: { uid: string; coordinator: SourceCoordinator }[] = []
  const coordinators = new Map<number, SourceCoordinator>()
  for (const vertex of graph.vertices) {
    const head = vertex.nodes[0]
    if (head.kind !== 'source') continue
    const coordinator = new SourceCoordinator(head.source!, vertex.parallelism, (subtask, event) => {
      const task = taskAt.get(`${vertex.id}-${subtask}`)!
      task.mailbox.put(() => {
        const op = task.headOperator
        if (op instanceof SourceOperator) applyReaderEvent(op.reader, event)
      })
    })
    coordinators.set(vertex.id, coordinator)
    sources.push({ uid: head.uid, coordinator })
  }
  const subtasks = buildTaskDeployments(
    graph,
    planChannels(graph),
    () => true,
    (spec) => {
      const channel = new LocalChannel(options.channelCapacity, spec.name)
      allChannels.push(channel)
      return { input: channel, output: channel }
    },
    (vertex) => coordinators.get(vertex),
    { ...setup, stateBackend: options.stateBackend, batchSize: options.batchSize },
  )
  const tasks = subtasks.map((s) => new StreamTask(s.deployment))
  for (const t of tasks) taskAt.set(t.key, t)
  for (const { uid, coordinator } of sources) coordinator.start(setup.restoredEnumerators?.get(uid))

  const cancel = (): void => {
    for (const t of tasks) t.cancel()
  }
  const done = (async (): Promise<void> => {
    let firstError: unknown
    await Promise.all(
      tasks.map((t) =>
        t.run().catch((error: unknown) => {
          if (firstError === undefined && !(error instanceof TaskCancelledError)) {
            firstError = error
            cancel()
          }
        }),
      ),
    )
    for (const { coordinator } of sources) coordinator.close()
    if (firstError !== undefined) throw firstError
    if (tasks.some((t) => t.wasCancelled)) throw new TaskCancelledError('(all)')
  })()
  return {
    tasks,
    channels: allChannels,
    sources,
    targets: tasks.map(taskTarget),
    snapshotEnumerators: (id) => sources.map((s) => ({ uid: s.uid, state: s.coordinator.snapshotState(id) })),
    done,
    cancel,
  }
}
