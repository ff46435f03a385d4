import type { VertexDetails } from '../../../src/web/api-types.ts'
import { formatDuration, formatWatermark } from '../format.ts'

/** The lowest of the subtasks' watermarks: null if any subtask has none yet. */
function lowest(values: (number | null)[]): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null
  return Math.min(...(values as number[]))
}

/** Per operator: the lowest input and output watermark over its subtasks, and how far behind the clock. */
export function WatermarksPanel({ vertices, now }: { vertices: VertexDetails[]; now: number }) {
  const rows = vertices.flatMap((v) =>
    v.operators.map((op, i) => {
      const input = lowest(v.subtasks.map((s) => s.operators[i]?.currentInputWatermark ?? null))
      const output = lowest(v.subtasks.map((s) => s.operators[i]?.currentOutputWatermark ?? null))
      return { key: `${v.id}-${op.id}`, vertex: v.name, operator: op.name, input, output }
    }),
  )
  const lag = (wm: number | null): string => (wm === null || wm >= Number.MAX_SAFE_INTEGER ? '' : formatDuration(Math.max(0, now - wm)))
  return (
    <table class="table small" data-testid="watermarks">
      <thead>
        <tr>
          <th>operator</th>
          <th>input watermark</th>
          <th>output watermark</th>
          <th>behind clock</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} data-testid="watermark-row">
            <td title={r.vertex}>{r.operator}</td>
            <td>{formatWatermark(r.input)}</td>
            <td>{formatWatermark(r.output)}</td>
            <td class="num">{lag(r.output ?? r.input)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
