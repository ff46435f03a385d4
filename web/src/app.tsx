import { useEffect, useState } from 'preact/hooks'
import type { JobList, JobSummary } from '../../src/web/api-types.ts'
import { getJson } from './api.ts'
import { JobView } from './components/job-view.tsx'
import { StatusBadge } from './components/status-badge.tsx'
import { formatDuration } from './format.ts'
import { usePoll } from './use-poll.ts'

/** The job id in the address (`#/jobs/<id>`), so a view can be bookmarked and reloaded. */
function jobIdFromHash(): string | undefined {
  const match = /^#\/jobs\/([^/]+)/.exec(window.location.hash)
  return match ? decodeURIComponent(match[1]) : undefined
}

function JobListView({ jobs, selected }: { jobs: JobSummary[]; selected: string | undefined }) {
  if (jobs.length === 0) return <p class="muted">No jobs yet.</p>
  return (
    <ul class="job-list" data-testid="job-list">
      {jobs.map((job) => (
        <li key={job.id} class={job.id === selected ? 'selected' : ''}>
          <a href={`#/jobs/${encodeURIComponent(job.id)}`} data-testid="job-link">
            <span class="job-name">{job.name}</span>
            <StatusBadge status={job.status} />
            <span class="muted small">{formatDuration(job.duration)}</span>
          </a>
        </li>
      ))}
    </ul>
  )
}

/** The dashboard: the job list, and the selected job (the first running one by default). */
export function App() {
  const [hashJob, setHashJob] = useState(jobIdFromHash())
  useEffect(() => {
    const onHash = (): void => setHashJob(jobIdFromHash())
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [])
  const jobs = usePoll('jobs', () => getJson<JobList>('/jobs'))
  const list = jobs.data?.jobs ?? []
  const selected = hashJob ?? (list.find((j) => j.status === 'RUNNING') ?? list[list.length - 1])?.id

  return (
    <div class="layout">
      <header class="topbar">
        <span class="logo">Weir</span>
        <span class="muted">embedded runner</span>
        <span class="spacer" />
        <a href="openapi.json" class="muted small">OpenAPI</a>
        <a href="metrics" class="muted small">Prometheus metrics</a>
      </header>
      <aside class="sidebar">
        <h2>Jobs</h2>
        {jobs.error && <p class="error">{jobs.error}</p>}
        <JobListView jobs={list} selected={selected} />
      </aside>
      <main class="content">{selected ? <JobView key={selected} jobId={selected} /> : <p class="muted">Select a job.</p>}</main>
    </div>
  )
}
