import type { JobVertex } from '../../graph/job-graph.ts'
import type { LocalJob } from '../../runtime/local-job.ts'
import type { StreamTask } from '../../runtime/stream-task.ts'
import { UserFunctionError, WeirError } from '../../errors.ts'
import type {
  BackpressureLevel,
  EdgeSummary,
  ExceptionEntry,
  JobDetails,
  JobExceptions,
  JobSummary,
  OperatorMetricsView,
  OperatorRef,
  SubtaskDetails,
  TaskState,
  VertexDetails,
  VertexMetrics,
  VertexSummary,
} from '../api-types.ts'
import type { MetricsSampler, SubtaskRates } from './sampler.ts'

/** A watermark as JSON: null before the first one, `Number.MAX_SAFE_INTEGER` for the end of input. */
export function watermarkValue(watermark: number): number | null {
  if (watermark === Number.NEGATIVE_INFINITY || Number.isNaN(watermark)) return null
  if (watermark >= Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER
  return watermark
}

/** Flink's thresholds: more than 10 % of the time back-pressured is low, more than 50 % high. */
export function backpressureLevel(ratio: number): BackpressureLevel {
  return ratio > 0.5 ? 'high' : ratio > 0.1 ? 'low' : 'ok'
}

/** The tasks of one vertex in the job's current attempt, by subtask index. */
export function vertexTasks(job: LocalJob, vertexId: number): StreamTask[] {
  return job.tasks.filter((t) => t.deployment.vertex.id === vertexId).sort((a, b) => a.deployment.subtaskIndex - b.deployment.subtaskIndex)
}

function subtaskState(job: LocalJob, task: StreamTask): TaskState {
  if (task.time.endedAt === undefined) return job.status === 'CANCELLING' ? 'CANCELING' : 'RUNNING'
  switch (job.status) {
    case 'CANCELLING':
    case 'CANCELED':
      return 'CANCELED'
    case 'FAILED':
    case 'RESTARTING':
      return 'FAILED'
    default:
      return 'FINISHED'
  }
}

function vertexState(job: LocalJob, tasks: readonly StreamTask[]): TaskState {
  if (tasks.length === 0) return job.status === 'CANCELED' ? 'CANCELED' : job.status === 'FAILED' ? 'FAILED' : 'CREATED'
  const states = tasks.map((t) => subtaskState(job, t))
  for (const s of ['FAILED', 'CANCELING', 'RUNNING', 'CANCELED'] as const) if (states.includes(s)) return s
  return 'FINISHED'
}

/** Indexes (in the chain) of the operators whose records leave the vertex. */
function outputOperators(vertex: JobVertex): number[] {
  const ids = new Set(vertex.outputs.map((e) => e.sourceNode))
  const indexes = vertex.nodes.flatMap((n, i) => (ids.has(n.id) ? [i] : []))
  return indexes.length > 0 ? indexes : [vertex.nodes.length - 1]
}

function operatorRefs(vertex: JobVertex): OperatorRef[] {
  return vertex.nodes.map((n) => ({ id: n.id, uid: n.uid, name: n.name }))
}

interface SubtaskFigures {
  task: StreamTask
  rates: SubtaskRates
  readRecords: number
  writeRecords: number
  readRecordsPerSecond: number
  writeRecordsPerSecond: number
}

function figures(vertex: JobVertex, task: StreamTask, sampler: MetricsSampler, now: number): SubtaskFigures {
  const rates = sampler.rates(task, now)
  const metrics = task.metrics
  const outs = outputOperators(vertex)
  let writeRecords = 0
  let writeRecordsPerSecond = 0
  for (const i of outs) {
    writeRecords += metrics[i]?.recordsOut ?? 0
    writeRecordsPerSecond += rates.recordsOutPerSecond[i] ?? 0
  }
  const isSource = vertex.nodes[0].kind === 'source'
  return {
    task,
    rates,
    readRecords: isSource ? 0 : (metrics[0]?.recordsIn ?? 0),
    readRecordsPerSecond: isSource ? 0 : (rates.recordsInPerSecond[0] ?? 0),
    writeRecords,
    writeRecordsPerSecond,
  }
}

function headWatermark(vertex: JobVertex, task: StreamTask): number {
  const head = task.metrics[0]
  if (!head) return Number.NEGATIVE_INFINITY
  return vertex.nodes[0].kind === 'source' ? head.currentOutputWatermark : head.currentInputWatermark
}

function aggregate(vertex: JobVertex, subtasks: readonly SubtaskFigures[]): VertexMetrics {
  let backpressureRatio = 0
  let busyRatio = 0
  let idleRatio = subtasks.length > 0 ? 1 : 0
  let watermark = subtasks.length > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY
  const sum = { readRecords: 0, writeRecords: 0, readRecordsPerSecond: 0, writeRecordsPerSecond: 0 }
  for (const s of subtasks) {
    sum.readRecords += s.readRecords
    sum.writeRecords += s.writeRecords
    sum.readRecordsPerSecond += s.readRecordsPerSecond
    sum.writeRecordsPerSecond += s.writeRecordsPerSecond
    backpressureRatio = Math.max(backpressureRatio, s.rates.backpressuredRatio)
    busyRatio = Math.max(busyRatio, s.rates.busyRatio)
    idleRatio = Math.min(idleRatio, s.rates.idleRatio)
    watermark = Math.min(watermark, headWatermark(vertex, s.task))
  }
  return { ...sum, backpressureRatio, backpressureLevel: backpressureLevel(backpressureRatio), busyRatio, idleRatio, watermark: watermarkValue(watermark) }
}

/** A vertex with its figures, for the job's graph. */
export function vertexSummary(job: LocalJob, vertex: JobVertex, sampler: MetricsSampler, now = performance.now()): VertexSummary {
  const tasks = vertexTasks(job, vertex.id)
  return {
    id: vertex.id,
    name: vertex.name,
    parallelism: vertex.parallelism,
    maxParallelism: vertex.maxParallelism,
    status: vertexState(job, tasks),
    operators: operatorRefs(vertex),
    metrics: aggregate(
      vertex,
      tasks.map((t) => figures(vertex, t, sampler, now)),
    ),
  }
}

function edges(job: LocalJob): EdgeSummary[] {
  return job.graph.vertices.flatMap((v) =>
    v.outputs.map((e) => ({ source: e.sourceVertex, target: e.targetVertex, shipStrategy: e.partitioning.kind.toUpperCase(), sideOutput: e.sideOutputTag ?? null })),
  )
}

function duration(job: LocalJob): number {
  return (job.endTime ?? Date.now()) - job.startTime
}

/** A job as `GET /jobs` lists it. */
export function jobSummary(job: LocalJob): JobSummary {
  return { id: job.jobId, name: job.graph.jobName, status: job.status, startTime: job.startTime, endTime: job.endTime ?? -1, duration: duration(job) }
}

/** A job with its graph and figures. */
export function jobDetails(job: LocalJob, sampler: MetricsSampler, checkpointingEnabled: boolean): JobDetails {
  const now = performance.now()
  return {
    jid: job.jobId,
    name: job.graph.jobName,
    state: job.status,
    startTime: job.startTime,
    endTime: job.endTime ?? -1,
    duration: duration(job),
    now: Date.now(),
    restarts: job.failures.filter((f) => f.restarting).length,
    checkpointingEnabled,
    vertices: job.graph.vertices.map((v) => vertexSummary(job, v, sampler, now)),
    edges: edges(job),
  }
}

function operatorView(vertex: JobVertex, task: StreamTask, rates: SubtaskRates, index: number): OperatorMetricsView {
  const node = vertex.nodes[index]
  const m = task.metrics[index]
  return {
    id: node.id,
    uid: node.uid,
    name: node.name,
    numRecordsIn: m?.recordsIn ?? 0,
    numRecordsOut: m?.recordsOut ?? 0,
    numRecordsInPerSecond: rates.recordsInPerSecond[index] ?? 0,
    numRecordsOutPerSecond: rates.recordsOutPerSecond[index] ?? 0,
    currentInputWatermark: watermarkValue(m?.currentInputWatermark ?? Number.NEGATIVE_INFINITY),
    currentOutputWatermark: watermarkValue(m?.currentOutputWatermark ?? Number.NEGATIVE_INFINITY),
  }
}

/** A vertex with the figures of each subtask and each chained operator. */
export function vertexDetails(job: LocalJob, vertex: JobVertex, sampler: MetricsSampler): VertexDetails {
  const now = performance.now()
  const tasks = vertexTasks(job, vertex.id)
  const all = tasks.map((t) => figures(vertex, t, sampler, now))
  return {
    id: vertex.id,
    name: vertex.name,
    parallelism: vertex.parallelism,
    maxParallelism: vertex.maxParallelism,
    status: vertexState(job, tasks),
    now: Date.now(),
    operators: operatorRefs(vertex),
    metrics: aggregate(vertex, all),
    subtasks: all.map((f): SubtaskDetails => {
      const { task, rates } = f
      const end = task.time.endedAt ?? now
      const { idleMs, backpressuredMs } = task.time.totals(end)
      const lived = Math.max(0, end - task.time.startedAt)
      return {
        subtask: task.deployment.subtaskIndex,
        status: subtaskState(job, task),
        attempt: task.deployment.attemptNumber,
        duration: Math.round(lived),
        readRecords: f.readRecords,
        writeRecords: f.writeRecords,
        readRecordsPerSecond: f.readRecordsPerSecond,
        writeRecordsPerSecond: f.writeRecordsPerSecond,
        backpressureRatio: rates.backpressuredRatio,
        backpressureLevel: backpressureLevel(rates.backpressuredRatio),
        busyRatio: rates.busyRatio,
        idleRatio: rates.idleRatio,
        accumulatedBackpressuredMs: Math.round(backpressuredMs),
        accumulatedIdleMs: Math.round(idleMs),
        accumulatedBusyMs: Math.round(Math.max(0, lived - idleMs - backpressuredMs)),
        operators: vertex.nodes.map((_, i) => operatorView(vertex, task, rates, i)),
      }
    }),
  }
}

/** The failures of a job, newest first, as Flink's exceptions history. */
export function jobExceptions(job: LocalJob, limit: number): JobExceptions {
  const entries = [...job.failures].reverse().map((f): ExceptionEntry => {
    const e = f.error
    return {
      exceptionName: e.name,
      code: e instanceof WeirError ? e.code : null,
      message: e.message,
      stacktrace: e.stack ?? `${e.name}: ${e.message}`,
      timestamp: f.timestamp,
      taskName: e instanceof UserFunctionError ? e.operator : null,
      subtask: e instanceof UserFunctionError ? e.subtask : null,
      attempt: f.attempt,
      restarting: f.restarting,
    }
  })
  const latest = entries[0]
  return {
    exceptionHistory: { entries: entries.slice(0, limit), truncated: entries.length > limit },
    rootException: latest ? latest.stacktrace : null,
    timestamp: latest ? latest.timestamp : null,
  }
}
