import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { CheckpointStats } from '../runtime/checkpointing/checkpoint-stats.ts'
import type { LocalJob } from '../runtime/local-job.ts'
import type { JobRegistry } from './job-registry.ts'
import { vertexTasks } from './metrics/job-views.ts'

const JOB = ['job_id', 'job_name'] as const
const TASK = [...JOB, 'vertex_id', 'vertex', 'subtask'] as const
const OPERATOR = [...TASK, 'operator', 'operator_uid'] as const

type JobLabel = (typeof JOB)[number]
type TaskLabel = (typeof TASK)[number]
type OperatorLabel = (typeof OPERATOR)[number]

interface OperatorRow {
  labels: Record<OperatorLabel, string>
  recordsIn: number
  recordsOut: number
  inPerSecond: number
  outPerSecond: number
  inputWatermark: number
  outputWatermark: number
}

interface TaskRow {
  labels: Record<TaskLabel, string>
  backpressured: number
  busy: number
  idle: number
  backpressuredMs: number
  idleMs: number
}

interface Snapshot {
  takenAt: number
  operators: OperatorRow[]
  tasks: TaskRow[]
}

const jobLabels = (job: LocalJob): Record<JobLabel, string> => ({ job_id: job.jobId, job_name: job.graph.jobName })

/** Reads every job's figures once per scrape: the metrics below all draw on one reading. */
function snapshotOf(registry: JobRegistry): Snapshot {
  const now = performance.now()
  const operators: OperatorRow[] = []
  const tasks: TaskRow[] = []
  for (const { job } of registry.list()) {
    for (const vertex of job.graph.vertices) {
      for (const task of vertexTasks(job, vertex.id)) {
        const labels = { ...jobLabels(job), vertex_id: String(vertex.id), vertex: vertex.name, subtask: String(task.deployment.subtaskIndex) }
        const rates = registry.sampler.rates(task, now)
        const { idleMs, backpressuredMs } = task.time.totals(now)
        tasks.push({ labels, backpressured: rates.backpressuredRatio, busy: rates.busyRatio, idle: rates.idleRatio, backpressuredMs, idleMs })
        task.metrics.forEach((m, i) => {
          operators.push({
            labels: { ...labels, operator: m.operatorName, operator_uid: m.uid },
            recordsIn: m.recordsIn,
            recordsOut: m.recordsOut,
            inPerSecond: rates.recordsInPerSecond[i] ?? 0,
            outPerSecond: rates.recordsOutPerSecond[i] ?? 0,
            inputWatermark: m.currentInputWatermark,
            outputWatermark: m.currentOutputWatermark,
          })
        })
      }
    }
  }
  return { takenAt: now, operators, tasks }
}

/**
 * A Prometheus registry with the figures of every registered job: per operator subtask records
 * and rates and watermarks, per task back pressure and busy time, per job state, restarts and
 * checkpoints; plus Node.js process metrics. Values are read from the jobs at scrape time.
 */
export function createPrometheusRegistry(jobs: JobRegistry): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  let cached: Snapshot | undefined
  const snapshot = (): Snapshot => {
    // One scrape collects every metric within a few milliseconds; they share one reading.
    if (!cached || performance.now() - cached.takenAt > 50) cached = snapshotOf(jobs)
    return cached
  }
  const registers = [registry]

  const operatorCounter = (name: string, help: string, pick: (r: OperatorRow) => number): void => {
    new Counter<OperatorLabel>({
      name,
      help,
      labelNames: OPERATOR,
      registers,
      collect() {
        this.reset()
        for (const r of snapshot().operators) this.inc(r.labels, pick(r))
      },
    })
  }
  const operatorGauge = (name: string, help: string, pick: (r: OperatorRow) => number): void => {
    new Gauge<OperatorLabel>({
      name,
      help,
      labelNames: OPERATOR,
      registers,
      collect() {
        this.reset()
        for (const r of snapshot().operators) {
          const v = pick(r)
          // No watermark yet (or the end of input) has no useful number: the series is left out.
          if (Number.isFinite(v)) this.set(r.labels, v)
        }
      },
    })
  }
  const taskMetric = (kind: 'counter' | 'gauge', name: string, help: string, pick: (r: TaskRow) => number): void => {
    if (kind === 'counter') {
      new Counter<TaskLabel>({
        name,
        help,
        labelNames: TASK,
        registers,
        collect() {
          this.reset()
          for (const r of snapshot().tasks) this.inc(r.labels, pick(r))
        },
      })
    } else {
      new Gauge<TaskLabel>({
        name,
        help,
        labelNames: TASK,
        registers,
        collect() {
          this.reset()
          for (const r of snapshot().tasks) this.set(r.labels, pick(r))
        },
      })
    }
  }
  const jobGauge = (name: string, help: string, labelNames: readonly string[], rows: (job: LocalJob) => { labels?: Record<string, string>; value: number }[]): void => {
    new Gauge<string>({
      name,
      help,
      labelNames: [...JOB, ...labelNames],
      registers,
      collect() {
        this.reset()
        for (const { job } of jobs.list()) for (const row of rows(job)) this.set({ ...jobLabels(job), ...row.labels }, row.value)
      },
    })
  }
  const jobCounter = (name: string, help: string, value: (job: LocalJob) => number): void => {
    new Counter<JobLabel>({
      name,
      help,
      labelNames: JOB,
      registers,
      collect() {
        this.reset()
        for (const { job } of jobs.list()) this.inc(jobLabels(job), value(job))
      },
    })
  }

  operatorCounter('weir_operator_records_in_total', 'Records an operator subtask received', (r) => r.recordsIn)
  operatorCounter('weir_operator_records_out_total', 'Records an operator subtask emitted', (r) => r.recordsOut)
  operatorGauge('weir_operator_records_in_per_second', 'Records received per second over the sampling window', (r) => r.inPerSecond)
  operatorGauge('weir_operator_records_out_per_second', 'Records emitted per second over the sampling window', (r) => r.outPerSecond)
  operatorGauge('weir_operator_input_watermark_milliseconds', 'The last watermark the operator received (event time, epoch ms)', (r) => r.inputWatermark)
  operatorGauge('weir_operator_output_watermark_milliseconds', 'The last watermark the operator emitted (event time, epoch ms)', (r) => r.outputWatermark)
  taskMetric('gauge', 'weir_task_backpressured_ratio', 'Share of time the subtask waited for room in a full output channel, over the sampling window', (r) => r.backpressured)
  taskMetric('gauge', 'weir_task_busy_ratio', 'Share of time the subtask worked, over the sampling window', (r) => r.busy)
  taskMetric('gauge', 'weir_task_idle_ratio', 'Share of time the subtask waited for input, over the sampling window', (r) => r.idle)
  taskMetric('counter', 'weir_task_backpressured_milliseconds_total', 'Time the subtask waited for room in a full output channel', (r) => r.backpressuredMs)
  taskMetric('counter', 'weir_task_idle_milliseconds_total', 'Time the subtask waited for input', (r) => r.idleMs)

  jobGauge('weir_job_status', 'The job state: 1 for the current one', ['status'], (job) => [{ labels: { status: job.status }, value: 1 }])
  jobGauge('weir_job_uptime_seconds', 'Seconds since the job started (until it ended)', [], (job) => [{ value: ((job.endTime ?? Date.now()) - job.startTime) / 1000 }])
  jobCounter('weir_job_restarts_total', 'Restarts after failures', (job) => job.failures.filter((f) => f.restarting).length)
  jobCounter('weir_job_failures_total', 'Failures of attempts, restarted or not', (job) => job.failures.length)
  jobCounter('weir_job_checkpoints_completed_total', 'Completed checkpoints and savepoints', (job) => job.checkpoints.filter((c) => c.status === 'completed').length)
  jobCounter('weir_job_checkpoints_failed_total', 'Failed checkpoints and savepoints', (job) => job.checkpoints.filter((c) => c.status === 'failed').length)
  jobGauge('weir_job_checkpoints_in_progress', 'Checkpoints in progress', [], (job) => [{ value: job.checkpoints.filter((c) => c.status === 'in-progress').length }])
  const lastCompleted = (job: LocalJob, value: (c: CheckpointStats) => number): { value: number }[] => {
    const history = job.checkpoints
    for (let i = history.length - 1; i >= 0; i--) if (history[i].status === 'completed' && history[i].kind === 'checkpoint') return [{ value: value(history[i]) }]
    return []
  }
  jobGauge('weir_job_last_checkpoint_id', 'Id of the latest completed checkpoint', [], (job) => lastCompleted(job, (c) => c.id))
  jobGauge('weir_job_last_checkpoint_duration_seconds', 'Duration of the latest completed checkpoint', [], (job) => lastCompleted(job, (c) => c.durationMs / 1000))
  jobGauge('weir_job_last_checkpoint_size_bytes', 'Bytes written by the latest completed checkpoint', [], (job) => lastCompleted(job, (c) => c.bytes))

  // Histograms observe each checkpoint once, when it has ended; a cursor per job marks how far.
  const cursors = new Map<string, number>()
  const duration = new Histogram<JobLabel | 'kind'>({
    name: 'weir_checkpoint_duration_seconds',
    help: 'Duration of completed checkpoints and savepoints, from trigger to completion',
    labelNames: [...JOB, 'kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
    // Registered first, so it observes for both histograms before either is written out.
    collect() {
      for (const { job } of jobs.list()) {
        const history = job.checkpoints
        let i = cursors.get(job.jobId) ?? 0
        for (; i < history.length && history[i].status !== 'in-progress'; i++) {
          const c = history[i]
          if (c.status !== 'completed') continue
          const labels = { ...jobLabels(job), kind: c.kind }
          duration.observe(labels, c.durationMs / 1000)
          size.observe(labels, c.bytes)
        }
        cursors.set(job.jobId, i)
      }
    },
  })
  const size = new Histogram<JobLabel | 'kind'>({
    name: 'weir_checkpoint_size_bytes',
    help: 'Bytes written by completed checkpoints and savepoints',
    labelNames: [...JOB, 'kind'],
    buckets: [1024, 16 * 1024, 256 * 1024, 1024 ** 2, 16 * 1024 ** 2, 256 * 1024 ** 2, 1024 ** 3],
    registers,
  })
  return registry
}
