/**
 * JSON schemas of the REST API: requests are validated against them, responses serialized with
 * them (so an answer carries exactly the documented fields), and the OpenAPI document is built
 * from them. They describe the types of `api-types.ts`.
 */

/** A JSON schema, as plain data. */
export type JsonSchema = { [key: string]: unknown }

const num = (description?: string): JsonSchema => ({ type: 'number', ...(description ? { description } : {}) })
const int = (description?: string): JsonSchema => ({ type: 'integer', ...(description ? { description } : {}) })
const str = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) })
const bool = (description?: string): JsonSchema => ({ type: 'boolean', ...(description ? { description } : {}) })
const nullable = (type: 'number' | 'integer' | 'string', description?: string): JsonSchema => ({ type: [type, 'null'], ...(description ? { description } : {}) })
const oneOf = (values: readonly string[], description?: string): JsonSchema => ({ type: 'string', enum: [...values], ...(description ? { description } : {}) })
const array = (items: JsonSchema): JsonSchema => ({ type: 'array', items })

/** An object schema whose properties are all required and no others allowed. */
function object(properties: Record<string, JsonSchema>, description?: string): JsonSchema {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false, ...(description ? { description } : {}) }
}

/** An object schema, or null. */
function nullableObject(properties: Record<string, JsonSchema>, description?: string): JsonSchema {
  return { ...object(properties, description), type: ['object', 'null'] }
}

const JOB_STATES = ['CREATED', 'RUNNING', 'RESTARTING', 'CANCELLING', 'CANCELED', 'FINISHED', 'FAILED']
const TASK_STATES = ['CREATED', 'RUNNING', 'CANCELING', 'CANCELED', 'FINISHED', 'FAILED']
const LEVELS = ['ok', 'low', 'high']
const WATERMARK = 'milliseconds; null before the first watermark, 9007199254740991 (MAX_SAFE_INTEGER) at the end of input'

/** `{ errors: [...] }`, the body of every error answer. */
export const errorSchema = object({ errors: array(str()) }, 'What was wrong')

/** Path parameter `jobId`. */
export const jobParams = object({ jobId: str('Job id (as listed by GET /jobs)') })
/** Path parameters `jobId`, `vertexId`. */
export const vertexParams = object({ jobId: str('Job id'), vertexId: str('Vertex id (an integer, see GET /jobs/{jobId})') })
/** Path parameters `jobId`, `checkpointId`. */
export const checkpointParams = object({ jobId: str('Job id'), checkpointId: str('Checkpoint id (an integer)') })
/** Path parameters `jobId`, `triggerId`. */
export const triggerParams = object({ jobId: str('Job id'), triggerId: str('The requestId a trigger answered with') })

/** `?limit=` of lists. */
export const limitQuery: JsonSchema = {
  type: 'object',
  properties: { limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: 'At most this many entries (1 to 9999), newest first' } },
  additionalProperties: false,
}

/** `?mode=cancel` of `PATCH /jobs/{jobId}`. */
export const cancelQuery: JsonSchema = {
  type: 'object',
  properties: { mode: oneOf(['cancel'], 'What to do with the job; only cancel is supported') },
  required: ['mode'],
  additionalProperties: false,
}

const TRIGGER_ID = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Client-chosen id making the request idempotent' }

/** Body of `POST /jobs/{jobId}/checkpoints`. */
export const checkpointTriggerBody: JsonSchema = {
  type: 'object',
  properties: { triggerId: TRIGGER_ID },
  additionalProperties: false,
}

const TARGET_DIRECTORY = { type: 'string', minLength: 1, maxLength: 4096, description: "Directory the savepoint is written to; the job's savepoint directory when absent" }

/** Body of `POST /jobs/{jobId}/savepoints`. */
export const savepointTriggerBody: JsonSchema = {
  type: 'object',
  properties: {
    triggerId: TRIGGER_ID,
    targetDirectory: TARGET_DIRECTORY,
    cancelJob: bool('Cancel the job once the savepoint completed (default false)'),
  },
  additionalProperties: false,
}

/** Body of `POST /jobs/{jobId}/stop`. */
export const stopBody: JsonSchema = {
  type: 'object',
  properties: {
    triggerId: TRIGGER_ID,
    targetDirectory: TARGET_DIRECTORY,
    drain: bool('Emit the end of event time first, so every window fires: for a job that will not be resumed (default false)'),
  },
  additionalProperties: false,
}

const jobSummary = object({
  id: str(),
  name: str(),
  status: oneOf(JOB_STATES),
  startTime: int('Epoch milliseconds'),
  endTime: int('Epoch milliseconds; -1 while the job runs'),
  duration: int('Milliseconds'),
})

/** `GET /jobs`. */
export const jobListSchema = object({ jobs: array(jobSummary) })

/** `GET /overview`. */
export const overviewSchema = object({ weirVersion: str(), jobsRunning: int(), jobsFinished: int(), jobsCancelled: int(), jobsFailed: int() })

const operatorRef = object({ id: int('Stream graph node id'), uid: str(), name: str() })

const vertexMetrics = object({
  readRecords: int(),
  writeRecords: int(),
  readRecordsPerSecond: num('Over the sampling window'),
  writeRecordsPerSecond: num('Over the sampling window'),
  backpressureRatio: num('Largest share of time a subtask waited for room in a full output channel, 0 to 1'),
  backpressureLevel: oneOf(LEVELS),
  busyRatio: num('Largest share of time a subtask worked, 0 to 1'),
  idleRatio: num('Smallest share of time a subtask waited for input, 0 to 1'),
  watermark: nullable('number', `Lowest watermark over the subtasks, ${WATERMARK}`),
})

const vertexSummary = object({
  id: int(),
  name: str(),
  parallelism: int(),
  maxParallelism: int(),
  status: oneOf(TASK_STATES),
  operators: array(operatorRef),
  metrics: vertexMetrics,
})

/** `GET /jobs/{jobId}`. */
export const jobDetailsSchema = object({
  jid: str(),
  name: str(),
  state: oneOf(JOB_STATES),
  startTime: int(),
  endTime: int('-1 while the job runs'),
  duration: int(),
  now: int('The server clock'),
  restarts: int(),
  checkpointingEnabled: bool(),
  vertices: array(vertexSummary),
  edges: array(object({ source: int('Vertex id'), target: int('Vertex id'), shipStrategy: str('FORWARD, REBALANCE, HASH or BROADCAST'), sideOutput: nullable('string') })),
})

const operatorMetrics = object({
  id: int(),
  uid: str(),
  name: str(),
  numRecordsIn: int(),
  numRecordsOut: int(),
  numRecordsInPerSecond: num(),
  numRecordsOutPerSecond: num(),
  currentInputWatermark: nullable('number', WATERMARK),
  currentOutputWatermark: nullable('number', WATERMARK),
})

const subtaskDetails = object({
  subtask: int(),
  status: oneOf(TASK_STATES),
  attempt: int(),
  duration: int(),
  readRecords: int(),
  writeRecords: int(),
  readRecordsPerSecond: num(),
  writeRecordsPerSecond: num(),
  backpressureRatio: num(),
  backpressureLevel: oneOf(LEVELS),
  busyRatio: num(),
  idleRatio: num(),
  accumulatedBackpressuredMs: int(),
  accumulatedIdleMs: int(),
  accumulatedBusyMs: int(),
  operators: array(operatorMetrics),
})

/** `GET /jobs/{jobId}/vertices/{vertexId}`. */
export const vertexDetailsSchema = object({
  id: int(),
  name: str(),
  parallelism: int(),
  maxParallelism: int(),
  status: oneOf(TASK_STATES),
  now: int(),
  operators: array(operatorRef),
  metrics: vertexMetrics,
  subtasks: array(subtaskDetails),
})

/** `GET /jobs/{jobId}/vertices/{vertexId}/backpressure`. */
export const backpressureSchema = object({
  status: oneOf(['ok']),
  backpressureLevel: oneOf(LEVELS),
  endTimestamp: int(),
  subtasks: array(object({ subtask: int(), backpressureLevel: oneOf(LEVELS), ratio: num(), idleRatio: num(), busyRatio: num() })),
})

/** `GET /jobs/{jobId}/vertices/{vertexId}/watermarks`. */
export const watermarksSchema = array(object({ id: str('<subtask>.<operator uid>.currentInputWatermark or ...currentOutputWatermark'), value: nullable('number', WATERMARK) }))

const checkpointEntryProperties = {
  id: int(),
  status: oneOf(['IN_PROGRESS', 'COMPLETED', 'FAILED']),
  isSavepoint: bool(),
  triggerTimestamp: int(),
  latestAckTimestamp: nullable('integer'),
  endToEndDuration: num('Milliseconds from trigger to completion (so far, while in progress)'),
  syncDuration: num('Largest synchronous part over the subtasks, milliseconds'),
  asyncDuration: num('Largest asynchronous (write) part over the subtasks, milliseconds'),
  alignmentDuration: num('Largest barrier alignment over the subtasks, milliseconds'),
  stateSize: int('Bytes written'),
  numSubtasks: int(),
  numAcknowledgedSubtasks: int(),
  externalPath: nullable('string', 'Where the completed snapshot is (what restoreFrom takes)'),
  failureMessage: nullable('string'),
}
const checkpointEntry = object(checkpointEntryProperties)
const nullableCheckpointEntry = nullableObject(checkpointEntryProperties)
const stats = object({ min: num(), max: num(), avg: num(), p50: num(), p90: num(), p99: num() })

/** `GET /jobs/{jobId}/checkpoints`. */
export const checkpointStatisticsSchema = object({
  counts: object({ total: int(), inProgress: int(), completed: int(), failed: int() }),
  summary: nullableObject(
    { endToEndDuration: stats, stateSize: stats, syncDuration: stats, asyncDuration: stats, alignmentDuration: stats },
    'Over completed checkpoints and savepoints; null when none completed',
  ),
  latest: object({ completed: nullableCheckpointEntry, savepoint: nullableCheckpointEntry, failed: nullableCheckpointEntry }),
  history: array(checkpointEntry),
})

/** `GET /jobs/{jobId}/checkpoints/details/{checkpointId}`. */
export const checkpointDetailsSchema = object({
  ...checkpointEntryProperties,
  tasks: array(
    object({
      vertexId: int(),
      name: str(),
      numSubtasks: int(),
      numAcknowledgedSubtasks: int(),
      stateSize: int(),
      subtasks: array(
        object({
          subtask: int(),
          status: oneOf(['COMPLETED', 'PENDING']),
          ackTimestamp: nullable('integer'),
          endToEndDuration: nullable('number'),
          syncDuration: nullable('number'),
          asyncDuration: nullable('number'),
          alignmentDuration: nullable('number'),
          stateSize: nullable('integer'),
        }),
      ),
    }),
  ),
})

/** Answer of a trigger. */
export const triggerResponseSchema = object({ requestId: str('Poll GET .../{requestId} for the outcome') })

/** `GET /jobs/{jobId}/savepoints/{triggerId}` and `GET /jobs/{jobId}/checkpoints/{triggerId}`. */
export const asyncOperationSchema = object({
  status: object({ id: oneOf(['IN_PROGRESS', 'COMPLETED']) }),
  operation: nullableObject(
    {
      checkpointId: nullable('integer'),
      location: nullable('string', 'Where the snapshot is, when it completed'),
      failureCause: nullableObject({ class: str(), code: nullable('string'), message: str() }, 'Why it failed, when it did'),
    },
    'Null while in progress',
  ),
})

/** `GET /jobs/{jobId}/exceptions`. */
export const exceptionsSchema = object({
  exceptionHistory: object({
    entries: array(
      object({
        exceptionName: str(),
        code: nullable('string', 'The WeirError code'),
        message: str(),
        stacktrace: str(),
        timestamp: int(),
        taskName: nullable('string', 'The operator that failed, when known'),
        subtask: nullable('integer'),
        attempt: int(),
        restarting: bool('Whether the job restarted after this failure'),
      }),
    ),
    truncated: bool(),
  }),
  rootException: nullable('string'),
  timestamp: nullable('integer'),
})

/** Answer of a cancellation. */
export const acceptedSchema = object({ jobId: str(), status: oneOf(JOB_STATES) })
