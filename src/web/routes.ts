import { readFileSync } from 'node:fs'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { JobVertex } from '../graph/job-graph.ts'
import type { CheckpointStats } from '../runtime/checkpointing/checkpoint-stats.ts'
import { WeirError } from '../errors.ts'
import type { BackpressureInfo, JobList, Overview, WatermarkEntry } from './api-types.ts'
import type { JobRegistry, RegisteredJob } from './job-registry.ts'
import { checkpointDetails, checkpointingStatistics } from './metrics/checkpoint-views.ts'
import { backpressureLevel, jobDetails, jobExceptions, jobSummary, vertexDetails, vertexTasks, watermarkValue } from './metrics/job-views.ts'
import * as s from './schemas.ts'
import type { JsonSchema } from './schemas.ts'

/** An error answer with a status code; its message is what the client reads. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message)
  }
}

/** What a handler gets. */
export interface RouteContext {
  registry: JobRegistry
  request: FastifyRequest
  reply: FastifyReply
  params: Record<string, string>
  query: Record<string, string | undefined>
  body: Record<string, unknown>
}

/** One endpoint: how fastify serves it and how the OpenAPI document describes it. */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH'
  url: string
  operationId: string
  summary: string
  tag: 'jobs' | 'vertices' | 'checkpoints' | 'savepoints' | 'cluster'
  params?: JsonSchema
  querystring?: JsonSchema
  body?: JsonSchema
  /** Status code of a successful answer. */
  status: 200 | 202
  response: JsonSchema
  /** Status codes of error answers this endpoint may give, with what they mean. */
  errors: Partial<Record<400 | 404 | 409, string>>
  handler(ctx: RouteContext): unknown
}

/** The package's version, for /overview. */
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

function jobOf(registry: JobRegistry, jobId: string): RegisteredJob {
  const entry = registry.get(jobId)
  if (!entry) throw new ApiError(404, `Job '${jobId}' not found`)
  return entry
}

function vertexOf(entry: RegisteredJob, vertexId: string): JobVertex {
  const vertex = /^\d+$/.test(vertexId) ? entry.job.graph.vertices[Number(vertexId)] : undefined
  if (!vertex) throw new ApiError(404, `Vertex '${vertexId}' not found in job '${entry.job.jobId}' (it has vertices 0 to ${entry.job.graph.vertices.length - 1})`)
  return vertex
}

function checkpointOf(entry: RegisteredJob, checkpointId: string): CheckpointStats {
  const stats = /^\d+$/.test(checkpointId) ? entry.job.checkpoints.find((c) => c.id === Number(checkpointId)) : undefined
  if (!stats) throw new ApiError(404, `Checkpoint '${checkpointId}' not found in job '${entry.job.jobId}'`)
  return stats
}

function limit(query: Record<string, string | undefined>, fallback: number): number {
  return query.limit === undefined ? fallback : Number(query.limit)
}

/** Engine refusals (job not running, checkpointing off) are conflicts with the job's state. */
function trigger(ctx: RouteContext, kind: 'checkpoint' | 'savepoint' | 'stop'): { requestId: string } {
  const entry = jobOf(ctx.registry, ctx.params.jobId)
  const body = ctx.body as { triggerId?: string; targetDirectory?: string; cancelJob?: boolean; drain?: boolean }
  try {
    const op =
      kind === 'checkpoint'
        ? ctx.registry.trigger(entry, 'checkpoint', { triggerId: body.triggerId })
        : ctx.registry.trigger(entry, 'savepoint', {
            triggerId: body.triggerId,
            targetDirectory: body.targetDirectory,
            cancelJob: body.cancelJob,
            stop: kind === 'stop' ? { drain: body.drain ?? false } : undefined,
          })
    if (kind !== 'checkpoint') ctx.request.log.info({ jobId: entry.job.jobId, triggerId: op.triggerId, stop: kind === 'stop', targetDirectory: body.targetDirectory }, 'savepoint requested')
    return { requestId: op.triggerId }
  } catch (error) {
    if (error instanceof WeirError) throw new ApiError(409, `${error.code}: ${error.message}`)
    throw error
  }
}

function operationOf(ctx: RouteContext, kind: 'checkpoint' | 'savepoint'): unknown {
  const entry = jobOf(ctx.registry, ctx.params.jobId)
  const op = entry.operations.get(ctx.params.triggerId)
  if (!op || op.kind !== kind) throw new ApiError(404, `No ${kind} trigger '${ctx.params.triggerId}' for job '${entry.job.jobId}'`)
  return op.result
}

function cancel(ctx: RouteContext): unknown {
  const { job } = jobOf(ctx.registry, ctx.params.jobId)
  if (job.endTime === undefined) {
    ctx.request.log.info({ jobId: job.jobId, job: job.graph.jobName }, 'cancelling job on request')
    job.cancel()
  }
  return { jobId: job.jobId, status: job.status }
}

const NOT_FOUND_JOB = 'No job with this id'
const BAD_BODY = 'The body is not valid JSON or does not match the schema'

/** Every REST endpoint, in the order the OpenAPI document lists them. */
export const routes: RouteSpec[] = [
  {
    method: 'GET',
    url: '/overview',
    operationId: 'getOverview',
    summary: 'Counts of jobs by state',
    tag: 'cluster',
    status: 200,
    response: s.overviewSchema,
    errors: {},
    handler: ({ registry }): Overview => {
      const states = registry.list().map((e) => e.job.status)
      const count = (...of: string[]): number => states.filter((x) => of.includes(x)).length
      return {
        weirVersion: VERSION,
        jobsRunning: count('CREATED', 'RUNNING', 'RESTARTING', 'CANCELLING'),
        jobsFinished: count('FINISHED'),
        jobsCancelled: count('CANCELED'),
        jobsFailed: count('FAILED'),
      }
    },
  },
  {
    method: 'GET',
    url: '/jobs',
    operationId: 'listJobs',
    summary: 'The jobs, in the order they were started',
    tag: 'jobs',
    status: 200,
    response: s.jobListSchema,
    errors: {},
    handler: ({ registry }): JobList => ({ jobs: registry.list().map((e) => jobSummary(e.job)) }),
  },
  {
    method: 'GET',
    url: '/jobs/:jobId',
    operationId: 'getJob',
    summary: 'A job: state, vertices with live figures, edges',
    tag: 'jobs',
    params: s.jobParams,
    status: 200,
    response: s.jobDetailsSchema,
    errors: { 404: NOT_FOUND_JOB },
    handler: ({ registry, params }) => {
      const entry = jobOf(registry, params.jobId)
      return jobDetails(entry.job, registry.sampler, registry.checkpointingEnabled(entry))
    },
  },
  {
    method: 'PATCH',
    url: '/jobs/:jobId',
    operationId: 'cancelJobPatch',
    summary: 'Cancels a job (mode=cancel), as Flink does',
    tag: 'jobs',
    params: s.jobParams,
    querystring: s.cancelQuery,
    status: 202,
    response: s.acceptedSchema,
    errors: { 400: 'mode is missing or not cancel', 404: NOT_FOUND_JOB },
    handler: cancel,
  },
  {
    method: 'POST',
    url: '/jobs/:jobId/cancel',
    operationId: 'cancelJob',
    summary: 'Cancels a job',
    tag: 'jobs',
    params: s.jobParams,
    status: 202,
    response: s.acceptedSchema,
    errors: { 404: NOT_FOUND_JOB },
    handler: cancel,
  },
  {
    method: 'GET',
    url: '/jobs/:jobId/exceptions',
    operationId: 'getJobExceptions',
    summary: 'Failures of the job, newest first, and whether it restarted after each',
    tag: 'jobs',
    params: s.jobParams,
    querystring: s.limitQuery,
    status: 200,
    response: s.exceptionsSchema,
    errors: { 400: 'Bad limit', 404: NOT_FOUND_JOB },
    handler: ({ registry, params, query }) => jobExceptions(jobOf(registry, params.jobId).job, limit(query, 20)),
  },
  {
    method: 'GET',
    url: '/jobs/:jobId/vertices/:vertexId',
    operationId: 'getVertex',
    summary: 'A vertex with the figures of each subtask and chained operator',
    tag: 'vertices',
    params: s.vertexParams,
    status: 200,
    response: s.vertexDetailsSchema,
    errors: { 404: 'No job or vertex with this id' },
    handler: ({ registry, params }) => {
      const entry = jobOf(registry, params.jobId)
      return vertexDetails(entry.job, vertexOf(entry, params.vertexId), registry.sampler)
    },
  },
  {
    method: 'GET',
    url: '/jobs/:jobId/vertices/:vertexId/backpressure',
    operationId: 'getVertexBackpressure',
    summary: 'Back pressure of each subtask of a vertex',
    tag: 'vertices',
    params: s.vertexParams,
    status: 200,
    response: s.backpressureSchema,
    errors: { 404: 'No job or vertex with this id' },
    handler: ({ registry, params }): BackpressureInfo => {
      const entry = jobOf(registry, params.jobId)
      const vertex = vertexOf(entry, params.vertexId)
      const subtasks = vertexTasks(entry.job, vertex.id).map((t) => {
        const r = registry.sampler.rates(t)
        return { subtask: t.deployment.subtaskIndex, backpressureLevel: backpressureLevel(r.backpressuredRatio), ratio: r.backpressuredRatio, idleRatio: r.idleRatio, busyRatio: r.busyRatio }
      })
      const worst = Math.max(0, ...subtasks.map((x) => x.ratio))
      return { status: 'ok', backpressureLevel: backpressureLevel(worst), endTimestamp: Date.now(), subtasks }
    },
  },
  {
    method: 'GET',
    url: '/jobs/:jobId/vertices/:vertexId/watermarks',
    operationId: 'getVertexWatermarks',
    summary: 'Input and output watermarks of every operator of every subtask of a vertex',
    tag: 'vertices',
    params: s.vertexParams,
    status: 200,
    response: s.watermarksSchema,
    errors: { 404: 'No job or vertex with this id' },
    handler: ({ registry, params }): WatermarkEntry[] => {
      const entry = jobOf(registry, params.jobId)
      const vertex = vertexOf(entry, params.vertexId)
      return vertexTasks(entry.job, vertex.id).flatMap((t) =>
        t.metrics.flatMap((m) => [
          { id: `${t.deployment.subtaskIndex}.${m.uid}.currentInputWatermark`, value: watermarkValue(m.currentInputWatermark) },
          { id: `${t.deployment.subtaskIndex}.${m.uid}.currentOutputWatermark`, value: watermarkValue(m.currentOutputWatermark) },
        ]),
      )
    },
  },
  {
    method: 'GET',
    url: '/jobs/:jobId/checkpoints',
    operationId: 'getCheckpoints',
    summary: 'Checkpoint counts, summary statistics, latest checkpoints and history (newest first)',
    tag: 'checkpoints',
    params: s.jobParams,
    querystring: s.limitQuery,
    status: 200,
    response: s.checkpointStatisticsSchema,
    errors: { 400: 'Bad limit', 404: NOT_FOUND_JOB },
    handler: ({ registry, params, query }) => checkpointingStatistics(jobOf(registry, params.jobId).job, limit(query, 100)),
  },
  {
    method: 'POST',
    url: '/jobs/:jobId/checkpoints',
    operationId: 'triggerCheckpoint',
    summary: 'Triggers a checkpoint; poll GET /jobs/{jobId}/checkpoints/{requestId} for the outcome',
    tag: 'checkpoints',
    params: s.jobParams,
    body: s.checkpointTriggerBody,
    status: 202,
    response: s.triggerResponseSchema,
    errors: { 400: BAD_BODY, 404: NOT_FOUND_JOB, 409: 'The job is not running or does not take checkpoints' },
    handler: (ctx) => trigger(ctx, 'checkpoint'),
  },
  {
    method: 'GET',
    url: '/jobs/:jobId/checkpoints/details/:checkpointId',
    operationId: 'getCheckpointDetails',
    summary: 'One checkpoint with the part of each vertex and subtask',
    tag: 'checkpoints',
    params: s.checkpointParams,
    status: 200,
    response: s.checkpointDetailsSchema,
    errors: { 404: 'No job or checkpoint with this id' },
    handler: ({ registry, params }) => {
      const entry = jobOf(registry, params.jobId)
      return checkpointDetails(entry.job, checkpointOf(entry, params.checkpointId))
    },
  },
  {
    method: 'GET',
    url: '/jobs/:jobId/checkpoints/:triggerId',
    operationId: 'getCheckpointTrigger',
    summary: 'The outcome of a checkpoint triggered through the API',
    tag: 'checkpoints',
    params: s.triggerParams,
    status: 200,
    response: s.asyncOperationSchema,
    errors: { 404: 'No job or trigger with this id' },
    handler: (ctx) => operationOf(ctx, 'checkpoint'),
  },
  {
    method: 'POST',
    url: '/jobs/:jobId/savepoints',
    operationId: 'triggerSavepoint',
    summary: 'Triggers a savepoint (optionally cancelling the job after it); poll GET /jobs/{jobId}/savepoints/{requestId}',
    tag: 'savepoints',
    params: s.jobParams,
    body: s.savepointTriggerBody,
    status: 202,
    response: s.triggerResponseSchema,
    errors: { 400: BAD_BODY, 404: NOT_FOUND_JOB, 409: 'The job is not running or does not take checkpoints' },
    handler: (ctx) => trigger(ctx, 'savepoint'),
  },
  {
    method: 'POST',
    url: '/jobs/:jobId/stop',
    operationId: 'stopJobWithSavepoint',
    summary: 'Stops the job with a savepoint (optionally draining it); poll GET /jobs/{jobId}/savepoints/{requestId}',
    tag: 'savepoints',
    params: s.jobParams,
    body: s.stopBody,
    status: 202,
    response: s.triggerResponseSchema,
    errors: { 400: BAD_BODY, 404: NOT_FOUND_JOB, 409: 'The job is not running or does not take checkpoints' },
    handler: (ctx) => trigger(ctx, 'stop'),
  },
  {
    method: 'GET',
    url: '/jobs/:jobId/savepoints/:triggerId',
    operationId: 'getSavepointTrigger',
    summary: 'The outcome of a savepoint: in progress, or completed with its location or failure cause',
    tag: 'savepoints',
    params: s.triggerParams,
    status: 200,
    response: s.asyncOperationSchema,
    errors: { 404: 'No job or trigger with this id' },
    handler: (ctx) => operationOf(ctx, 'savepoint'),
  },
]
