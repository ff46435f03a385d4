import { JobGraphError } from '../errors.ts'
import type { KeySelector, OperatorFactory } from '../operators/stream-operator.ts'
import { checkParallelism } from '../state/key-groups.ts'
import type { Partitioning } from './partitioner.ts'
import type { SourceDescriptor } from './source-descriptor.ts'
import type { OperatorTransformation, Transformation } from './transformation.ts'
import { generateUid } from './uid.ts'

/** An operator of the stream graph, with its resolved parallelism and uid. */
export interface StreamNode {
  id: number
  name: string
  /** The user's uid, or a generated stable one. */
  uid: string
  uidGenerated: boolean
  parallelism: number
  maxParallelism: number
  kind: 'source' | 'one-input' | 'two-input'
  source: SourceDescriptor | undefined
  factory: OperatorFactory<unknown> | undefined
  keySelector1: KeySelector<unknown> | undefined
  keySelector2: KeySelector<unknown> | undefined
  chainable: boolean
  inEdges: StreamEdge[]
  outEdges: StreamEdge[]
}

/** A connection between two operators. */
export interface StreamEdge {
  source: number
  target: number
  partitioning: Partitioning
  /** Which input of the target (2 only for two-input operators). */
  inputIndex: 1 | 2
  /** Set when the edge carries a side output of the source instead of its main output. */
  sideOutputTag: string | undefined
}

/** The operators and edges of a job, before chaining. */
export interface StreamGraph {
  jobName: string
  nodes: Map<number, StreamNode>
  /** Node ids in creation order (sources first within their dependencies). */
  order: number[]
}

/** Defaults the environment applies to operators that set nothing. */
export interface GraphDefaults {
  parallelism: number
  maxParallelism: number
}

interface ResolvedInput {
  node: number
  partitioning: Partitioning | undefined
  sideOutputTag: string | undefined
}

/** Builds the stream graph from the operator transformations the API recorded. */
export function buildStreamGraph(jobName: string, operators: readonly OperatorTransformation[], defaults: GraphDefaults): StreamGraph {
  checkParallelism(defaults.maxParallelism, Math.min(defaults.parallelism, defaults.maxParallelism))
  if (defaults.parallelism > defaults.maxParallelism) {
    throw new JobGraphError(`The default parallelism ${defaults.parallelism} is larger than the max parallelism ${defaults.maxParallelism}`)
  }
  const nodes = new Map<number, StreamNode>()
  const order: number[] = []
  const uids = new Map<string, string>()
  const sorted = [...operators].sort((a, b) => a.id - b.id)
  for (const t of sorted) {
    const maxParallelism = t.settings.maxParallelism ?? defaults.maxParallelism
    let parallelism = t.settings.parallelism ?? defaults.parallelism
    if (t.kind === 'source' && t.source.source.maxParallelism !== undefined && t.settings.parallelism === undefined) {
      parallelism = Math.min(parallelism, t.source.source.maxParallelism)
    }
    if (t.kind === 'source' && t.source.source.maxParallelism !== undefined && parallelism > t.source.source.maxParallelism) {
      throw new JobGraphError(`Source '${t.settings.name}' supports at most parallelism ${t.source.source.maxParallelism}, got ${parallelism}`)
    }
    if (parallelism > maxParallelism) {
      throw new JobGraphError(`Operator '${t.settings.name}' has parallelism ${parallelism}, larger than its max parallelism ${maxParallelism}`)
    }
    checkParallelism(maxParallelism, parallelism)
    const uid = t.settings.uid ?? generateUid(t, sorted)
    const taken = uids.get(uid)
    if (taken !== undefined) throw new JobGraphError(`The uid '${uid}' is used by both '${taken}' and '${t.settings.name}'; uids must be unique`)
    uids.set(uid, t.settings.name)
    nodes.set(t.id, {
      id: t.id,
      name: t.settings.name,
      uid,
      uidGenerated: t.settings.uid === undefined,
      parallelism,
      maxParallelism,
      kind: t.kind,
      source: t.kind === 'source' ? t.source : undefined,
      factory: t.kind === 'source' ? undefined : t.factory,
      keySelector1: t.kind === 'one-input' ? t.keySelector : t.kind === 'two-input' ? t.keySelector1 : undefined,
      keySelector2: t.kind === 'two-input' ? t.keySelector2 : undefined,
      chainable: t.settings.chainable,
      inEdges: [],
      outEdges: [],
    })
    order.push(t.id)
  }
  for (const t of sorted) {
    if (t.kind === 'one-input') connect(nodes, t.input, t.id, 1)
    else if (t.kind === 'two-input') {
      connect(nodes, t.input1, t.id, 1)
      connect(nodes, t.input2, t.id, 2)
    }
  }
  return { jobName, nodes, order }
}

function connect(nodes: Map<number, StreamNode>, input: Transformation, targetId: number, inputIndex: 1 | 2): void {
  const target = nodes.get(targetId)!
  for (const resolved of resolve(input, undefined, undefined)) {
    const source = nodes.get(resolved.node)
    if (!source) throw new JobGraphError(`Operator '${target.name}' reads from a stream that is not part of this job`)
    let partitioning = resolved.partitioning
    if (partitioning === undefined) partitioning = source.parallelism === target.parallelism ? { kind: 'forward' } : { kind: 'rebalance' }
    if (partitioning.kind === 'forward' && source.parallelism !== target.parallelism) {
      throw new JobGraphError(
        `Forward partitioning needs equal parallelism, but '${source.name}' has ${source.parallelism} and '${target.name}' has ${target.parallelism}`,
      )
    }
    const edge: StreamEdge = { source: source.id, target: target.id, partitioning, inputIndex, sideOutputTag: resolved.sideOutputTag }
    source.outEdges.push(edge)
    target.inEdges.push(edge)
  }
}

function resolve(t: Transformation, partitioning: Partitioning | undefined, sideOutputTag: string | undefined): ResolvedInput[] {
  switch (t.kind) {
    case 'source':
    case 'one-input':
    case 'two-input':
      return [{ node: t.id, partitioning, sideOutputTag }]
    case 'partition':
      // The partitioning closest to the consumer wins, as in Flink.
      return resolve(t.input, partitioning ?? t.partitioning, sideOutputTag)
    case 'union':
      return t.inputs.flatMap((input) => resolve(input, partitioning, sideOutputTag))
    case 'side-output':
      return resolve(t.input, partitioning, t.tagId)
  }
}
