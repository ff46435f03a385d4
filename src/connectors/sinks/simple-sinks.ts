import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Sink, SinkWriter } from '../../api/connector/sink.ts'

/** Writes each record as a line to standard output (or a given function), prefixed by the subtask. */
export function printSink<T>(options: { prefix?: string; write?: (line: string) => void } = {}): Sink<T> {
  return {
    createWriter: (ctx) => {
      const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`))
      const prefix = `${options.prefix ?? ''}${ctx.parallelism > 1 ? `${ctx.subtaskIndex + 1}> ` : ''}`
      return {
        write: (value) => write(`${prefix}${typeof value === 'string' ? value : JSON.stringify(value)}`),
        flush: () => {},
        close: () => {},
      }
    },
  }
}

/** Drops every record (for benchmarks). */
export function discardSink<T>(): Sink<T> {
  return { createWriter: () => ({ write: () => {}, flush: () => {}, close: () => {} }) }
}

/**
 * Appends every record to an array in this process. Only for tests and the local runner: records from
 * other processes never reach it.
 */
export function collectSink<T>(into: T[]): Sink<T> {
  return { createWriter: () => ({ write: (value: T) => void into.push(value), flush: () => {}, close: () => {} }) }
}

/**
 * Writes records as lines into `dir/part-<subtask>` files (strings as they are, anything else as
 * JSON). Not transactional: after a failure a part file may hold records of the failed attempt.
 */
export function fileRowsSink<T>(dir: string, format: (value: T) => string = (v) => (typeof v === 'string' ? v : JSON.stringify(v))): Sink<T> {
  return {
    createWriter: (ctx): SinkWriter<T> => {
      mkdirSync(dir, { recursive: true })
      const fd = openSync(join(dir, `part-${ctx.subtaskIndex}`), 'w')
      let pending: string[] = []
      let size = 0
      const flush = (): void => {
        if (pending.length === 0) return
        writeSync(fd, pending.join(''))
        pending = []
        size = 0
      }
      return {
        write: (value) => {
          const line = `${format(value)}\n`
          pending.push(line)
          size += line.length
          if (size > 1 << 16) flush()
        },
        flush,
        close: () => {
          flush()
          closeSync(fd)
        },
      }
    },
  }
}
