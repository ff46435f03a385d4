import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'

/** A line plot of one series over wall-clock time, drawn with uPlot and updated in place. */
export function TimePlot({ times, values, label, color, format, testId }: { times: number[]; values: number[]; label: string; color: string; format: (v: number) => string; testId: string }) {
  const container = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | undefined>(undefined)
  const formatRef = useRef(format)
  formatRef.current = format
  const data: uPlot.AlignedData = [times.map((t) => t / 1000), values]

  useEffect(() => {
    const el = container.current
    if (!el) return
    const options: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // uPlot spreads a lone point's time axis over years: a minute around it reads better.
        x: { time: true, range: (u, min, max) => (u.data[0].length === 1 ? [u.data[0][0] - 30, u.data[0][0] + 30] : [min, max]) },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
      },
      axes: [{}, { values: (_u, ticks) => ticks.map((v) => formatRef.current(v)), size: 70 }],
      series: [{}, { label, stroke: color, width: 2, fill: `${color}22`, points: { show: true, size: 5 }, value: (_u, v) => (v === null ? '—' : formatRef.current(v)) }],
    }
    plot.current = new uPlot(options, data, el)
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 180 }))
    resize.observe(el)
    return () => {
      resize.disconnect()
      plot.current?.destroy()
      plot.current = undefined
    }
    // Created once; later data goes through setData below.
  }, [])

  useEffect(() => {
    plot.current?.setData(data)
  })

  return <div class="plot" ref={container} data-testid={testId} data-points={times.length} />
}
