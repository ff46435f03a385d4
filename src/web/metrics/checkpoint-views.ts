import type { CheckpointStats } from '../../runtime/checkpointing/checkpoint-stats.ts'
import type { LocalJob } from '../../runtime/local-job.ts'
import type { CheckpointDetails, CheckpointEntry, CheckpointingStatistics, CheckpointStatus, CheckpointSubtaskEntry, StatsSummary } from '../api-types.ts'

const STATUS: Record<CheckpointStats['status'], CheckpointStatus> = { 'in-progress': 'IN_PROGRESS', completed: 'COMPLETED', failed: 'FAILED' }

const round = (ms: number): number => Math.round(ms * 1000) / 1000

/** One checkpoint of the history, as the API shows it. */
export function checkpointEntry(s: CheckpointStats): CheckpointEntry {
  const acks = s.subtasks ?? []
  return {
    id: s.id,
    status: STATUS[s.status],
    isSavepoint: s.kind === 'savepoint',
    triggerTimestamp: s.triggerTimestamp,
    latestAckTimestamp: acks.length > 0 ? Math.max(...acks.map((a) => a.ackTimestamp)) : null,
    // The coordinator sets the duration when a checkpoint ends; until then it is the time so far.
    endToEndDuration: round(s.status === 'in-progress' ? Math.max(0, Date.now() - s.triggerTimestamp) : s.durationMs),
    syncDuration: round(s.syncMs),
    asyncDuration: round(s.asyncMs),
    alignmentDuration: round(s.alignmentMs),
    stateSize: s.bytes,
    numSubtasks: s.total,
    numAcknowledgedSubtasks: s.acknowledged,
    externalPath: s.pointer ?? null,
    failureMessage: s.failureReason ?? null,
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

function summarize(values: readonly number[]): StatsSummary {
  const sorted = [...values].sort((a, b) => a - b)
  const total = sorted.reduce((a, b) => a + b, 0)
  return {
    min: round(sorted[0] ?? 0),
    max: round(sorted[sorted.length - 1] ?? 0),
    avg: round(sorted.length > 0 ? total / sorted.length : 0),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
  }
}

/** Counts, summary, latest and history of a job's checkpoints, as Flink's checkpoint statistics. */
export function checkpointingStatistics(job: LocalJob, limit: number): CheckpointingStatistics {
  const all = job.checkpoints
  const completed = all.filter((s) => s.status === 'completed')
  const last = (pick: (s: CheckpointStats) => boolean): CheckpointEntry | null => {
    for (let i = all.length - 1; i >= 0; i--) if (pick(all[i])) return checkpointEntry(all[i])
    return null
  }
  return {
    counts: {
      total: all.length,
      inProgress: all.filter((s) => s.status === 'in-progress').length,
      completed: completed.length,
      failed: all.filter((s) => s.status === 'failed').length,
    },
    summary:
      completed.length === 0
        ? null
        : {
            endToEndDuration: summarize(completed.map((s) => s.durationMs)),
            stateSize: summarize(completed.map((s) => s.bytes)),
            syncDuration: summarize(completed.map((s) => s.syncMs)),
            asyncDuration: summarize(completed.map((s) => s.asyncMs)),
            alignmentDuration: summarize(completed.map((s) => s.alignmentMs)),
          },
    latest: {
      completed: last((s) => s.status === 'completed' && s.kind === 'checkpoint'),
      savepoint: last((s) => s.status === 'completed' && s.kind === 'savepoint'),
      failed: last((s) => s.status === 'failed'),
    },
    history: all
      .slice(-limit)
      .reverse()
      .map((s) => checkpointEntry(s)),
  }
}

/** One checkpoint with each vertex's and subtask's part. */
export function checkpointDetails(job: LocalJob, s: CheckpointStats): CheckpointDetails {
  const acks = new Map((s.subtasks ?? []).map((a) => [a.taskKey, a]))
  return {
    ...checkpointEntry(s),
    tasks: job.graph.vertices.map((v) => {
      const subtasks = Array.from({ length: v.parallelism }, (_, i): CheckpointSubtaskEntry => {
        const ack = acks.get(`${v.id}-${i}`)
        return ack
          ? {
              subtask: i,
              status: 'COMPLETED',
              ackTimestamp: ack.ackTimestamp,
              endToEndDuration: Math.max(0, ack.ackTimestamp - s.triggerTimestamp),
              syncDuration: round(ack.syncMs),
              asyncDuration: round(ack.asyncMs),
              alignmentDuration: round(ack.alignmentMs),
              stateSize: ack.bytes,
            }
          : { subtask: i, status: 'PENDING', ackTimestamp: null, endToEndDuration: null, syncDuration: null, asyncDuration: null, alignmentDuration: null, stateSize: null }
      })
      const done = subtasks.filter((x) => x.status === 'COMPLETED')
      return {
        vertexId: v.id,
        name: v.name,
        numSubtasks: v.parallelism,
        numAcknowledgedSubtasks: done.length,
        stateSize: done.reduce((n, x) => n + (x.stateSize ?? 0), 0),
        subtasks,
      }
    }),
  }
}
