import type { Partitioning } from './partitioner.ts'
import type { StreamEdge, StreamGraph, StreamNode } from './stream-graph.ts'

/** An edge between two tasks (job vertices), from one operator of the source chain. */
export interface JobEdge {
  sourceVertex: number
  sourceNode: number
  targetVertex: number
  targetNode: number
  partitioning: Partitioning
  inputIndex: 1 | 2
  sideOutputTag: string | undefined
}

/** A chain of operators that runs as one task per subtask; records inside move by direct calls. */
export interface JobVertex {
  id: number
  name: string
  parallelism: number
  maxParallelism: number
  /** The chained operators, head first, then in graph order. */
  nodes: StreamNode[]
  /** Chained edges between the vertex's own operators. */
  chainedEdges: StreamEdge[]
  inputs: JobEdge[]
  outputs: JobEdge[]
}

/** The tasks of a job and the channels between them. */
export interface JobGraph {
  jobName: string
  vertices: JobVertex[]
}

/** Whether an edge can be a direct call inside one task instead of a channel. */
export function isChainable(edge: StreamEdge, graph: StreamGraph): boolean {
  const up = graph.nodes.get(edge.source)!
  const down = graph.nodes.get(edge.target)!
  return (
    edge.partitioning.kind === 'forward' &&
    up.parallelism === down.parallelism &&
    down.inEdges.length === 1 &&
    down.kind !== 'source' &&
    down.chainable &&
    up.chainable
  )
}

/** Chains operators into tasks. */
export function buildJobGraph(graph: StreamGraph): JobGraph {
  const vertexOf = new Map<number, JobVertex>()
  const vertices: JobVertex[] = []
  for (const id of graph.order) {
    const node = graph.nodes.get(id)!
    const chainedFrom = node.inEdges.length === 1 && isChainable(node.inEdges[0], graph) ? vertexOf.get(node.inEdges[0].source) : undefined
    if (chainedFrom) {
      chainedFrom.nodes.push(node)
      chainedFrom.chainedEdges.push(node.inEdges[0])
      chainedFrom.name = `${chainedFrom.name} -> ${node.name}`
      vertexOf.set(id, chainedFrom)
    } else {
      const vertex: JobVertex = {
        id: vertices.length,
        name: node.name,
        parallelism: node.parallelism,
        maxParallelism: node.maxParallelism,
        nodes: [node],
        chainedEdges: [],
        inputs: [],
        outputs: [],
      }
      vertices.push(vertex)
      vertexOf.set(id, vertex)
    }
  }
  for (const id of graph.order) {
    const node = graph.nodes.get(id)!
    for (const edge of node.outEdges) {
      const from = vertexOf.get(edge.source)!
      const to = vertexOf.get(edge.target)!
      if (from === to) continue
      const jobEdge: JobEdge = {
        sourceVertex: from.id,
        sourceNode: edge.source,
        targetVertex: to.id,
        targetNode: edge.target,
        partitioning: edge.partitioning,
        inputIndex: edge.inputIndex,
        sideOutputTag: edge.sideOutputTag,
      }
      from.outputs.push(jobEdge)
      to.inputs.push(jobEdge)
    }
  }
  return { jobName: graph.jobName, vertices }
}
