import { useState } from 'preact/hooks'
import type { CheckpointingStatistics, JobDetails, JobExceptions, VertexDetails } from '../../../src/web/api-types.ts'
import { getJson } from '../api.ts'
import { formatDuration, formatTime } from '../format.ts'
import { usePoll } from '../use-poll.ts'
import { Actions } from './actions.tsx'
import { CheckpointPanel } from './checkpoint-panel.tsx'
import { ExceptionsPanel } from './exceptions-panel.tsx'
import { JobGraph } from './job-graph.tsx'
import { StatusBadge } from './status-badge.tsx'
import { VertexPanel } from './vertex-panel.tsx'
import { WatermarksPanel } from './watermarks-panel.tsx'

/** Everything the job page shows, fetched together so the panels agree with each other. */
interface JobData {
  job: JobDetails
  checkpoints: CheckpointingStatistics
  exceptions: JobExceptions
  vertices: VertexDetails[]
}

async function loadJob(jobId: string): Promise<JobData> {
  const base = `/jobs/${encodeURIComponent(jobId)}`
  const [job, checkpoints, exceptions] = await Promise.all([
    getJson<JobDetails>(base),
    getJson<CheckpointingStatistics>(`${base}/checkpoints?limit=120`),
    getJson<JobExceptions>(`${base}/exceptions`),
  ])
  const vertices = await Promise.all(job.vertices.map((v) => getJson<VertexDetails>(`${base}/vertices/${v.id}`)))
  return { job, checkpoints, exceptions, vertices }
}

/** One job: its state and actions, graph, the selected vertex, checkpoints, watermarks, exceptions. */
export function JobView({ jobId }: { jobId: string }) {
  const poll = usePoll(jobId, () => loadJob(jobId))
  const [selectedVertex, setSelectedVertex] = useState<number | undefined>(undefined)
  const data = poll.data
  if (!data) return <p class={poll.error ? 'error' : 'muted'}>{poll.error ?? 'Loading…'}</p>
  const { job } = data
  const vertex = data.vertices.find((v) => v.id === selectedVertex)
  const running = job.endTime === -1

  return (
    <div class="job" data-testid="job-view">
      <section class="job-header">
        <div>
          <h1>
            <span data-testid="job-name">{job.name}</span> <StatusBadge status={job.state} />
          </h1>
          <div class="muted small">
            <code>{job.jid}</code> · started {formatTime(job.startTime)} · {formatDuration(job.duration)}
            {job.restarts > 0 && ` · ${job.restarts} restart${job.restarts === 1 ? '' : 's'}`}
          </div>
        </div>
        <span class="spacer" />
        <Actions jobId={job.jid} running={running} checkpointing={job.checkpointingEnabled} onChange={poll.refresh} />
      </section>
      {poll.error && <p class="error">Update failed: {poll.error}</p>}

      <section class="panel">
        <h2>Job graph</h2>
        <p class="muted small">Live rates over the last seconds; colour: back pressure (green ok, orange low, red high); bar: busy time. Click a vertex for its subtasks.</p>
        <JobGraph job={job} selected={selectedVertex} onSelect={(id) => setSelectedVertex(id === selectedVertex ? undefined : id)} />
        {vertex && <VertexPanel vertex={vertex} />}
      </section>

      <div class="columns">
        <section class="panel">
          <h2>Checkpoints</h2>
          <CheckpointPanel stats={data.checkpoints} enabled={job.checkpointingEnabled} />
        </section>
        <section class="panel">
          <h2>Watermarks</h2>
          <WatermarksPanel vertices={data.vertices} now={job.now} />
        </section>
      </div>

      <section class="panel">
        <h2>Exceptions</h2>
        <ExceptionsPanel exceptions={data.exceptions} />
      </section>
    </div>
  )
}
