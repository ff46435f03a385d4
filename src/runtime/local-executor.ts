import type { OperatorSubtaskState } from '../checkpoint/operator-subtask-state.ts'
import type { JobGraph } from '../graph/job-graph.ts'
import { SourceOperator } from '../operators/source/source-operator.ts'
import type { StateBackend } from '../state/state-backend.ts'
import type { GateChannel } from './io/input-gate.ts'
import { LocalChannel } from './io/local-channel.ts'
import { SourceCoordinator } from './source-coordinator.ts'
import { StreamTask, TaskCancelledError, type TaskDeployment, type TaskOutputEdge } from './stream-task.ts'

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
  /** Resolves when every task finished; rejects with the first failure (the others are cancelled). */
  readonly done: Promise<void>
  cancel(): void
}

/** Starts every subtask of a job graph inside this process, connected by bounded channels. */
export function startAttempt(graph: JobGraph, options: LocalExecutorOptions, setup: AttemptSetup): LocalAttempt {
  const tasksByVertex: StreamTask[][] = []
  const allChannels: LocalChannel[] = []
  const inputs = graph.vertices.map((v) => Array.from({ length: v.parallelism }, (): GateChannel[] => []))
  const outputs = graph.vertices.map((v) => Array.from({ length: v.parallelism }, (): TaskOutputEdge[] => []))

  for (const vertex of graph.vertices) {
    for (const edge of vertex.outputs) {
      const target = graph.vertices[edge.targetVertex]
      const targetNode = target.nodes.find((n) => n.id === edge.targetNode)!
      const pointwise = edge.partitioning.kind === 'forward'
      for (let u = 0; u < vertex.parallelism; u++) {
        const channels: LocalChannel[] = []
        for (let d = 0; d < target.parallelism; d++) {
          if (pointwise && d !== u) continue
          const channel = new LocalChannel(options.channelCapacity, `${vertex.name} [${u}] => ${target.name} [${d}]`)
          channels.push(channel)
          allChannels.push(channel)
          inputs[target.id][d].push({ channel, inputIndex: edge.inputIndex })
        }
        outputs[vertex.id][u].push({ edge, channels, targetMaxParallelism: targetNode.maxParallelism })
      }
    }
  }

  const sources: { uid: string; coordinator: SourceCoordinator }[] = []
  for (const vertex of graph.vertices) {
    const head = vertex.nodes[0]
    let coordinator: SourceCoordinator | undefined
    if (head.kind === 'source') {
      coordinator = new SourceCoordinator(head.source!, vertex.parallelism, (subtask, action) => {
        const task = tasksByVertex[vertex.id][subtask]
        task.mailbox.put(() => {
          const op = task.headOperator
          if (op instanceof SourceOperator) action(op.reader)
        })
      })
      sources.push({ uid: head.uid, coordinator })
    }
    tasksByVertex.push(
      Array.from(
        { length: vertex.parallelism },
        (_, i) =>
          new StreamTask({
            jobId: setup.jobId,
            vertex,
            subtaskIndex: i,
            inputs: inputs[vertex.id][i],
            outputs: outputs[vertex.id][i],
            stateBackend: options.stateBackend,
            batchSize: options.batchSize,
            sourceGateway: coordinator,
            attemptNumber: setup.attemptNumber,
            attemptId: setup.attemptId,
            checkpointing: setup.checkpointing,
            restored: setup.restored,
          }),
      ),
    )
  }
  const tasks = tasksByVertex.flat()
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
  return { tasks, channels: allChannels, sources, done, cancel }
}
