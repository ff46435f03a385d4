import type { CheckpointEntry, CheckpointingStatistics } from '../../../src/web/api-types.ts'
import { formatBytes, formatDuration, formatTime } from '../format.ts'
import { TimePlot } from './plot.tsx'

function Row({ c }: { c: CheckpointEntry }) {
  return (
    <tr class={`cp-${c.status.toLowerCase()}`}>
      <td>{c.id}</td>
      <td>{c.isSavepoint ? 'savepoint' : 'checkpoint'}</td>
      <td>{c.status}</td>
      <td>{formatTime(c.triggerTimestamp)}</td>
      <td class="num">{formatDuration(c.endToEndDuration)}</td>
      <td class="num">{formatDuration(c.syncDuration)}</td>
      <td class="num">{formatDuration(c.asyncDuration)}</td>
      <td class="num">{formatDuration(c.alignmentDuration)}</td>
      <td class="num">{formatBytes(c.stateSize)}</td>
      <td class="num">
        {c.numAcknowledgedSubtasks}/{c.numSubtasks}
      </td>
      <td class="path" title={c.failureMessage ?? c.externalPath ?? ''}>
        {c.failureMessage ?? c.externalPath ?? ''}
      </td>
    </tr>
  )
}

/** Checkpoint counts, the latest ones, plots of duration and size over time, and the recent history. */
export function CheckpointPanel({ stats, enabled }: { stats: CheckpointingStatistics; enabled: boolean }) {
  if (!enabled && stats.counts.total === 0) return <p class="muted">This job does not take checkpoints.</p>
  const completed = stats.history.filter((c) => c.status === 'COMPLETED').reverse()
  const times = completed.map((c) => c.triggerTimestamp)
  const latest = stats.latest.completed
  return (
    <div data-testid="checkpoint-panel">
      <div class="figures">
        <div>
          <span class="figure" data-testid="checkpoints-completed">{stats.counts.completed}</span> completed
        </div>
        <div>
          <span class="figure">{stats.counts.inProgress}</span> in progress
        </div>
        <div>
          <span class={`figure${stats.counts.failed > 0 ? ' error' : ''}`}>{stats.counts.failed}</span> failed
        </div>
        <div data-testid="checkpoint-latest">
          latest: {latest ? `#${latest.id}, ${formatDuration(latest.endToEndDuration)}, ${formatBytes(latest.stateSize)}` : '—'}
        </div>
        <div>
          savepoint: {stats.latest.savepoint ? `#${stats.latest.savepoint.id} ${stats.latest.savepoint.externalPath ?? ''}` : '—'}
        </div>
      </div>
      <div class="plots">
        <div>
          <h3>Duration</h3>
          <TimePlot testId="checkpoint-duration-plot" times={times} values={completed.map((c) => c.endToEndDuration)} label="duration" color="#1565c0" format={formatDuration} />
        </div>
        <div>
          <h3>Size</h3>
          <TimePlot testId="checkpoint-size-plot" times={times} values={completed.map((c) => c.stateSize)} label="size" color="#6a1b9a" format={formatBytes} />
        </div>
      </div>
      <div class="table-scroll">
      <table class="table small" data-testid="checkpoint-history">
        <thead>
          <tr>
            <th>id</th>
            <th>kind</th>
            <th>status</th>
            <th>triggered</th>
            <th>duration</th>
            <th>sync</th>
            <th>async</th>
            <th>alignment</th>
            <th>size</th>
            <th>acks</th>
            <th>path / failure</th>
          </tr>
        </thead>
        <tbody>
          {stats.history.slice(0, 8).map((c) => (
            <Row key={c.id} c={c} />
          ))}
        </tbody>
      </table>
      </div>
    </div>
  )
}
