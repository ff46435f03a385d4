import type { JobDetails, VertexSummary } from '../../../src/web/api-types.ts'
import { formatPercent, formatRate, formatWatermark } from '../format.ts'

const W = 200
const H = 112
const GAP_X = 84
const GAP_Y = 28
const PAD = 16

interface Placed {
  vertex: VertexSummary
  x: number
  y: number
}

/** Columns by longest path from a source, so every edge points right. */
function layout(job: JobDetails): { placed: Map<number, Placed>; width: number; height: number } {
  const depth = new Map<number, number>()
  const inputs = new Map<number, number[]>()
  for (const e of job.edges) inputs.set(e.target, [...(inputs.get(e.target) ?? []), e.source])
  const depthOf = (id: number, seen: Set<number>): number => {
    const known = depth.get(id)
    if (known !== undefined) return known
    if (seen.has(id)) return 0
    seen.add(id)
    const d = Math.max(-1, ...(inputs.get(id) ?? []).map((s) => depthOf(s, seen))) + 1
    depth.set(id, d)
    return d
  }
  for (const v of job.vertices) depthOf(v.id, new Set())
  const columns: VertexSummary[][] = []
  for (const v of job.vertices) (columns[depth.get(v.id) ?? 0] ??= []).push(v)
  const tallest = Math.max(1, ...columns.map((c) => c?.length ?? 0))
  const height = PAD * 2 + tallest * H + (tallest - 1) * GAP_Y
  const placed = new Map<number, Placed>()
  columns.forEach((column, d) => {
    const used = column.length * H + (column.length - 1) * GAP_Y
    column.forEach((vertex, row) => {
      placed.set(vertex.id, { vertex, x: PAD + d * (W + GAP_X), y: (height - used) / 2 + row * (H + GAP_Y) })
    })
  })
  const width = PAD * 2 + columns.length * W + Math.max(0, columns.length - 1) * GAP_X
  return { placed, width, height }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

function VertexBox({ p, isSource, selected, onSelect }: { p: Placed; isSource: boolean; selected: boolean; onSelect: (id: number) => void }) {
  const { vertex: v, x, y } = p
  const m = v.metrics
  return (
    <g
      class={`vertex bp-${m.backpressureLevel}${selected ? ' selected' : ''}`}
      transform={`translate(${x},${y})`}
      onClick={() => onSelect(v.id)}
      data-testid="graph-vertex"
      data-vertex-id={v.id}
      data-backpressure={m.backpressureLevel}
    >
      <title>{`${v.name}\n${v.operators.map((o) => `• ${o.name} (uid ${o.uid})`).join('\n')}`}</title>
      <rect class="vertex-box" width={W} height={H} rx={8} />
      <text class="vertex-name" x={10} y={20}>
        {truncate(v.name, 22)}
      </text>
      <text class="vertex-par" x={W - 10} y={20} text-anchor="end">
        ×{v.parallelism}
      </text>
      <text class="vertex-line" x={10} y={42} data-testid="vertex-rates">
        {isSource ? '' : `in ${formatRate(m.readRecordsPerSecond)} · `}out {formatRate(m.writeRecordsPerSecond)}
      </text>
      <text class="vertex-line" x={10} y={62} data-testid="vertex-backpressure">
        back pressure {formatPercent(m.backpressureRatio)} · {v.status}
      </text>
      <text class="vertex-line muted" x={10} y={82}>
        watermark {formatWatermark(m.watermark)}
      </text>
      <rect class="busy-track" x={10} y={H - 20} width={W - 86} height={8} rx={3} />
      <rect class="busy-bar" x={10} y={H - 20} width={(W - 86) * m.busyRatio} height={8} rx={3} />
      <text class="busy-label" x={W - 10} y={H - 12} text-anchor="end">
        busy {formatPercent(m.busyRatio)}
      </text>
    </g>
  )
}

/** The job graph: vertices with live figures, coloured by back pressure, and the edges between them. */
export function JobGraph({ job, selected, onSelect }: { job: JobDetails; selected: number | undefined; onSelect: (id: number) => void }) {
  const { placed, width, height } = layout(job)
  const targets = new Set(job.edges.map((e) => e.target))
  return (
    <div class="graph-scroll">
      <svg class="job-graph" data-testid="job-graph" width={width} height={height} style={{ maxWidth: '100%', height: 'auto' }} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Graph of job ${job.name}`}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrow" />
          </marker>
        </defs>
        {job.edges.map((e, i) => {
          const from = placed.get(e.source)
          const to = placed.get(e.target)
          if (!from || !to) return null
          const x1 = from.x + W
          const y1 = from.y + H / 2
          const x2 = to.x - 2
          const y2 = to.y + H / 2
          const mid = (x1 + x2) / 2
          return (
            <g key={i} class="edge" data-testid="graph-edge">
              <path d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} marker-end="url(#arrow)" />
              <text x={mid} y={(y1 + y2) / 2 - 6} text-anchor="middle">
                {e.shipStrategy}
                {e.sideOutput ? ` (${e.sideOutput})` : ''}
              </text>
            </g>
          )
        })}
        {[...placed.values()].map((p) => (
          <VertexBox key={p.vertex.id} p={p} isSource={!targets.has(p.vertex.id)} selected={p.vertex.id === selected} onSelect={onSelect} />
        ))}
      </svg>
    </div>
  )
}
