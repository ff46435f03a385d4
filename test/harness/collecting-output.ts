import type { OutputTag } from '../../src/api/output-tag.ts'
import type { Output } from '../../src/operators/output.ts'
import { NO_TIMESTAMP } from '../../src/time/time.ts'

/** A record an operator emitted; `timestamp` is absent when the record has none. */
export interface EmittedRecord<T> {
  value: T
  timestamp?: number
}

/** Records and watermarks in the order the operator emitted them on its main output. */
export type EmittedEvent<T> = ({ kind: 'record' } & EmittedRecord<T>) | { kind: 'watermark'; watermark: number }

/** Builds a record the way the harness stores it, so tests can compare with `deepEqual`. */
export function record<T>(value: T, timestamp: number = NO_TIMESTAMP): EmittedRecord<T> {
  return timestamp === NO_TIMESTAMP ? { value } : { value, timestamp }
}

/** An `Output` that keeps everything: main records, watermarks, their interleaving, side outputs. */
export class CollectingOutput<T> implements Output<T> {
  readonly records: EmittedRecord<T>[] = []
  readonly watermarks: number[] = []
  readonly events: EmittedEvent<T>[] = []
  private readonly side = new Map<string, EmittedRecord<unknown>[]>()

  collect(value: T, timestamp: number): void {
    const r = record(value, timestamp)
    this.records.push(r)
    this.events.push({ kind: 'record', ...r })
  }

  collectSide<S>(tag: OutputTag<S>, value: S, timestamp: number): void {
    let list = this.side.get(tag.id)
    if (!list) this.side.set(tag.id, (list = []))
    list.push(record(value, timestamp))
  }

  emitWatermark(watermark: number): void {
    this.watermarks.push(watermark)
    this.events.push({ kind: 'watermark', watermark })
  }

  sideOutput<S>(tag: OutputTag<S>): EmittedRecord<S>[] {
    return (this.side.get(tag.id) ?? []) as EmittedRecord<S>[]
  }

  clear(): void {
    this.records.length = 0
    this.watermarks.length = 0
    this.events.length = 0
    this.side.clear()
  }
}
