/**
 * Counters of one connector reader or writer. Plain fields, bumped on the hot path without a call;
 * read them at any time (they only grow).
 */
export interface ConnectorMetrics {
  /** Records read from the service (sources) or handed to the writer (sinks). */
  recordsIn: number
  /** Payload bytes read from the service (sources) or handed to the writer (sinks). */
  bytesIn: number
  /** Records emitted into the job (sources) or written to the service (sinks). */
  recordsOut: number
  /** Payload bytes emitted into the job (sources) or written to the service (sinks). */
  bytesOut: number
  /** Times a connection was re-established after a failure. */
  reconnects: number
  /** Transient failures that were retried. */
  retries: number
}

/** Fresh counters, all zero. */
export function newMetrics(): ConnectorMetrics {
  return { recordsIn: 0, bytesIn: 0, recordsOut: 0, bytesOut: 0, reconnects: 0, retries: 0 }
}

/** Adds counters up. */
export function sumMetrics(all: Iterable<ConnectorMetrics>): ConnectorMetrics {
  const total = newMetrics()
  for (const m of all) {
    total.recordsIn += m.recordsIn
    total.bytesIn += m.bytesIn
    total.recordsOut += m.recordsOut
    total.bytesOut += m.bytesOut
    total.reconnects += m.reconnects
    total.retries += m.retries
  }
  return total
}

/** Something with counters: a connector's reader, writer or committer. */
export interface Metered {
  readonly metrics: ConnectorMetrics
}

/**
 * The readers, writers and committers a connector object created in this process. Counters of
 * instances that were closed (a failed attempt's) stay in the totals, so a total counts the work
 * done across restarts.
 */
export class MeteredInstances<I extends Metered> {
  private readonly live = new Set<I>()
  private readonly retired = newMetrics()

  add(instance: I): I {
    this.live.add(instance)
    return instance
  }

  retire(instance: I): void {
    if (!this.live.delete(instance)) return
    const m = sumMetrics([this.retired, instance.metrics])
    Object.assign(this.retired, m)
  }

  /** The instances open now. */
  get instances(): readonly I[] {
    return [...this.live]
  }

  /** Counters of every instance, open or closed. */
  total(): ConnectorMetrics {
    return sumMetrics([this.retired, ...[...this.live].map((i) => i.metrics)])
  }
}

/**
 * About how many bytes a decoded row or record took on the wire, for byte counters where the client
 * hides the raw size: string lengths, 8 per number, and so on. Cheap enough for every record.
 */
export function approximateSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length
    case 'number':
    case 'bigint':
      return 8
    case 'boolean':
      return 1
    case 'object': {
      if (value === null) return 0
      if (value instanceof Uint8Array) return value.byteLength
      if (value instanceof Date) return 8
      let size = 0
      if (Array.isArray(value)) for (const v of value) size += approximateSize(v)
      else for (const k in value) size += approximateSize((value as Record<string, unknown>)[k])
      return size
    }
    default:
      return 0
  }
}
