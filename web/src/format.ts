const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })

/** Records per second, compact: 950/s, 12.3k/s, 1.2M/s. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${oneDecimal.format(perSecond / 1e6)}M/s`
  if (perSecond >= 1e4) return `${oneDecimal.format(perSecond / 1e3)}k/s`
  return `${integer.format(perSecond)}/s`
}

/** A count with thousands separators. */
export function formatCount(n: number): string {
  return integer.format(n)
}

/** A ratio (0 to 1) as a percentage. */
export function formatPercent(ratio: number): string {
  return `${integer.format(ratio * 100)} %`
}

/** Bytes in B, KiB, MiB or GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let v = bytes
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${u === 0 ? integer.format(v) : oneDecimal.format(v)} ${units[u]}`
}

/** A duration: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${oneDecimal.format(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${oneDecimal.format(s)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`
}

/** A wall-clock time of day, local, to the millisecond. */
export function formatTime(epochMs: number): string {
  const d = new Date(epochMs)
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

/** The API's watermark: null before the first, MAX_SAFE_INTEGER at the end of input. */
export function formatWatermark(watermark: number | null): string {
  if (watermark === null) return '—'
  if (watermark >= Number.MAX_SAFE_INTEGER) return 'end of input'
  return formatTime(watermark)
}
