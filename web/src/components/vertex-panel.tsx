import type { VertexDetails } from '../../../src/web/api-types.ts'
import { formatCount, formatPercent, formatRate, formatWatermark } from '../format.ts'
import { StatusBadge } from './status-badge.tsx'

/** The subtasks of one vertex, and each chained operator's figures within them. */
export function VertexPanel({ vertex }: { vertex: VertexDetails }) {
  return (
    <div class="vertex-panel" data-testid="vertex-panel">
      <h3>
        {vertex.name} <span class="muted">(parallelism {vertex.parallelism}, max {vertex.maxParallelism})</span>
      </h3>
      <table class="table small">
        <thead>
          <tr>
            <th>subtask</th>
            <th>status</th>
            <th>records in</th>
            <th>records out</th>
            <th>in/s</th>
            <th>out/s</th>
            <th>back pressure</th>
            <th>busy</th>
            <th>idle</th>
            <th>operators: in/s → out/s, watermark in / out</th>
          </tr>
        </thead>
        <tbody>
          {vertex.subtasks.map((s) => (
            <tr key={s.subtask}>
              <td>{s.subtask}</td>
              <td>
                <StatusBadge status={s.status} />
              </td>
              <td class="num">{formatCount(s.readRecords)}</td>
              <td class="num">{formatCount(s.writeRecords)}</td>
              <td class="num">{formatRate(s.readRecordsPerSecond)}</td>
              <td class="num">{formatRate(s.writeRecordsPerSecond)}</td>
              <td class={`num bp-text-${s.backpressureLevel}`}>{formatPercent(s.backpressureRatio)}</td>
              <td class="num">{formatPercent(s.busyRatio)}</td>
              <td class="num">{formatPercent(s.idleRatio)}</td>
              <td>
                {s.operators.map((o) => (
                  <div key={o.id}>
                    {o.name}: {formatRate(o.numRecordsInPerSecond)} → {formatRate(o.numRecordsOutPerSecond)}, {formatWatermark(o.currentInputWatermark)} / {formatWatermark(o.currentOutputWatermark)}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
