import { randomUUID } from 'node:crypto'
import { WeirError } from '../errors.ts'
import type { JobGraph } from '../graph/job-graph.ts'
import { SourceOperator } from '../operators/source/source-operator.ts'
import type { StateBackend } from '../state/state-backend.ts'
import type { GateChannel } from './io/input-gate.ts'
import { LocalChannel } from './io/local-channel.ts'
import { SourceCoordinator } from './source-coordinator.ts'
import { StreamTask, TaskCancelledError, type TaskOutputEdge } from './stream-task.ts'

/** Settings of the local runner. */
export interface LocalExecutorOptions {
  stateBackend: StateBackend
  /** Records per batch between tasks. */
  batchSize: number
  /** Batches a channel holds before its producer waits. */
  channelCapacity: number
}

/** What a finished job reports. */
export interface JobExecutionResult {
  jobId: string
  jobName: string
  durationMs: number
}

/** A job running in this process. */
export interface LocalJob {
  readonly jobId: string
  readonly tasks: readonly StreamTask[]
  /** Every channel between tasks, for backpressure figures. */
  readonly channels: readonly LocalChannel[]
  readonly result: Promise<JobExecutionResult>
  cancel(): void
}

/** Runs a job graph inside this process: one `StreamTask` per subtask, all on the event loop. */
export function startLocalJob(graph: JobGraph, options: LocalExecutorOptions): LocalJob {
  const jobId = randomUUID()
  const started = performance.now()
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

  const coordinators: SourceCoordinator[] = []
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
      coordinators.push(coordinator)
    }
    tasksByVertex.push(
      Array.from(
        { length: vertex.parallelism },
        (_, i) =>
          new StreamTask({
            jobId,
            vertex,
            subtaskIndex: i,
            inputs: inputs[vertex.id][i],
            outputs: outputs[vertex.id][i],
            stateBackend: options.stateBackend,
            batchSize: options.batchSize,
            sourceGateway: coordinator,
          }),
      ),
    )
  }
  const tasks = tasksByVertex.flat()
  for (const c of coordinators) c.start()

  const cancelAll = (): void => {
    for (const t of tasks) t.cancel()
  }
  const result = (async (): Promise<JobExecutionResult> => {
    let firstError: unknown
    await Promise.all(
      tasks.map((t) =>
        t.run().catch((error: unknown) => {
          if (firstError === undefined && !(error instanceof TaskCancelledError)) {
            firstError = error
            cancelAll()
          }
        }),
      ),
    )
    for (const c of coordinators) c.close()
    if (firstError !== undefined) throw firstError
    if (tasks.some((t) => t.wasCancelled)) throw new WeirError('JOB_CANCELLED', `Job '${graph.jobName}' was cancelled`)
    return { jobId, jobName: graph.jobName, durationMs: performance.now() - started }
  })()
  return { jobId, tasks, channels: allChannels, result, cancel: cancelAll }
}
