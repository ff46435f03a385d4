import type { OperatorSubtaskState } from '../checkpoint/operator-subtask-state.ts'
import type { JobEdge, JobGraph } from '../graph/job-graph.ts'
import type { SourceCoordinatorGateway } from '../operators/source/source-operator.ts'
import type { StateBackend } from '../state/state-backend.ts'
import type { InputChannel, OutputChannel } from './io/channel.ts'
import type { GateChannel } from './io/input-gate.ts'
import type { TaskDeployment, TaskOutputEdge } from './stream-task.ts'

/**
 * One channel between two subtasks of a job. Plans are computed from the graph alone, so every
 * process that holds the same graph numbers the channels the same way: the index identifies a
 * channel between processes.
 */
export interface ChannelSpec {
  index: number
  edge: JobEdge
  sourceSubtask: number
  targetSubtask: number
  name: string
}

/** The ends of a channel that live in this process: both for a local channel, one for a network channel. */
export interface ChannelEnds {
  input: InputChannel | undefined
  output: OutputChannel | undefined
}

/** Every channel of a job, in the order tasks see them (inputs and outputs). */
export function planChannels(graph: JobGraph): ChannelSpec[] {
  const specs: ChannelSpec[] = []
  for (const vertex of graph.vertices) {
    for (const edge of vertex.outputs) {
      const target = graph.vertices[edge.targetVertex]
      const pointwise = edge.partitioning.kind === 'forward'
      for (let u = 0; u < vertex.parallelism; u++) {
        for (let d = 0; d < target.parallelism; d++) {
          if (pointwise && d !== u) continue
          specs.push({ index: specs.length, edge, sourceSubtask: u, targetSubtask: d, name: `${vertex.name} [${u}] => ${target.name} [${d}]` })
        }
      }
    }
  }
  return specs
}

/** What every subtask of one attempt shares. */
export interface DeploymentSettings {
  jobId: string
  stateBackend: StateBackend
  batchSize: number
  attemptNumber: number
  attemptId: string
  checkpointing: TaskDeployment['checkpointing']
  restored: ReadonlyMap<string, readonly OperatorSubtaskState[]> | undefined
}

/** A subtask to run here. */
export interface LocalSubtask {
  vertex: number
  subtask: number
  deployment: TaskDeployment
}

/**
 * Builds the deployments of the subtasks that run in this process (`isLocal`), with the channel
 * ends `channelFor` makes: the embedded runner makes every channel local; a task manager makes
 * local channels between its own subtasks and network channels to other processes.
 */
export function buildTaskDeployments(
  graph: JobGraph,
  channels: readonly ChannelSpec[],
  isLocal: (vertex: number, subtask: number) => boolean,
  channelFor: (spec: ChannelSpec) => ChannelEnds,
  sourceGateway: (vertex: number) => SourceCoordinatorGateway | undefined,
  settings: DeploymentSettings,
): LocalSubtask[] {
  const inputs = graph.vertices.map((v) => Array.from({ length: v.parallelism }, (): GateChannel[] => []))
  const outputs = graph.vertices.map((v) => Array.from({ length: v.parallelism }, (): TaskOutputEdge[] => []))
  // One output edge per (edge, producing subtask), in edge order, even when it has no channel.
  const outputEdges = new Map<JobEdge, TaskOutputEdge[]>()
  for (const vertex of graph.vertices) {
    for (const edge of vertex.outputs) {
      const targetNode = graph.vertices[edge.targetVertex].nodes.find((n) => n.id === edge.targetNode)!
      const perSubtask: TaskOutputEdge[] = []
      for (let u = 0; u < vertex.parallelism; u++) {
        perSubtask.push({ edge, channels: [], targetMaxParallelism: targetNode.maxParallelism })
        if (isLocal(vertex.id, u)) outputs[vertex.id][u].push(perSubtask[u])
      }
      outputEdges.set(edge, perSubtask)
    }
  }
  for (const spec of channels) {
    const { edge, sourceSubtask: u, targetSubtask: d } = spec
    const producerLocal = isLocal(edge.sourceVertex, u)
    const consumerLocal = isLocal(edge.targetVertex, d)
    if (!producerLocal && !consumerLocal) continue
    const ends = channelFor(spec)
    if (consumerLocal) inputs[edge.targetVertex][d].push({ channel: ends.input!, inputIndex: edge.inputIndex })
    if (producerLocal) outputEdges.get(edge)![u].channels.push(ends.output!)
  }
  const subtasks: LocalSubtask[] = []
  for (const vertex of graph.vertices) {
    for (let i = 0; i < vertex.parallelism; i++) {
      if (!isLocal(vertex.id, i)) continue
      subtasks.push({
        vertex: vertex.id,
        subtask: i,
        deployment: {
          jobId: settings.jobId,
          vertex,
          subtaskIndex: i,
          inputs: inputs[vertex.id][i],
          outputs: outputs[vertex.id][i],
          stateBackend: settings.stateBackend,
          batchSize: settings.batchSize,
          sourceGateway: sourceGateway(vertex.id),
          attemptNumber: settings.attemptNumber,
          attemptId: settings.attemptId,
          checkpointing: settings.checkpointing,
          restored: settings.restored,
        },
      })
    }
  }
  return subtasks
}
