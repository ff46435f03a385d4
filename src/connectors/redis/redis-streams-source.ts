import type { Redis } from 'ioredis'
import type { Boundedness, Source, SourceReaderContext, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../../api/connector/source.ts'
import { WeirError } from '../../errors.ts'
import { MeteredInstances, type ConnectorMetrics } from '../common/metrics.ts'
import { messageOf, retrySettings, type RetryOptions, type RetrySettings } from '../common/retry.ts'
import { BufferedSplitReader } from '../common/split-reader.ts'
import { StaticSplitEnumerator } from '../sources/sequence-source.ts'
import { checkRedisOptions, compareStreamIds, createRedis, describeRedis, redisRetry, type RedisConnectionOptions } from './connection.ts'

/** A stream entry as the deserializer sees it. */
export interface RedisStreamEntry {
  stream: string
  id: string
  fields: Record<string, string>
}

/** Options of `RedisStreamsSource`. */
export interface RedisStreamsSourceOptions<T> extends RedisConnectionOptions {
  /** Stream keys to read; each is a split. */
  streams: readonly string[]
  /** Where to start without a checkpoint: the first entry (default), what is added after the first connect, or after an id. */
  start?: 'earliest' | 'latest' | { after: string }
  /** True: read what each stream holds at the first connect, then end. Default false: read on forever. */
  bounded?: boolean
  /** Turns an entry into a record; default: the entry's fields. */
  deserialize?: (entry: RedisStreamEntry) => T
  /** Entries per XREAD / XRANGE; default 512. */
  count?: number
  /** Entries buffered ahead per reader at most; default 4096. */
  bufferSize?: number
  /** How long one XREAD blocks waiting for entries; default 1000 ms. */
  blockMs?: number
  retry?: RetryOptions
}

/** A stream; `lastId` is the position: the id of the last entry emitted ('0-0' before any). */
export interface RedisStreamSplit extends SourceSplit {
  stream: string
  lastId: string
  /** Set until the start is resolved at the first connect ('latest'). */
  startLatest: boolean
  /** A bounded split ends at this id; resolved at the first connect (undefined until then). */
  stopId: string | undefined
  /** The key was found to be a stream once: later absence is data lost in a server restart, not a wrong name. */
  validated: boolean
}

const ID = /^\d+(-\d+)?$/

interface ReaderSettings<T> {
  connection: RedisConnectionOptions
  bounded: boolean
  deserialize: (entry: RedisStreamEntry) => T
  count: number
  bufferSize: number
  blockMs: number
  retry: RetrySettings
}

/**
 * Reads Redis Streams, exactly-once: each stream key is a split whose position, the id of the last
 * entry emitted, is kept in the checkpoint; a restore reads on from exactly the entry after it
 * (`XREAD ... STREAMS key <id>`). Continuous readers block in one XREAD for all their streams on a
 * connection of their own; bounded ones page with XRANGE up to the last id found at the first
 * connect. Records carry the entry id's millisecond part as event time.
 */
export class RedisStreamsSource<T = Record<string, string>> implements Source<T, RedisStreamSplit, RedisStreamSplit[]> {
  readonly boundedness: Boundedness
  /** Readers of this source created in this process, with their counters. */
  readonly readers = new MeteredInstances<RedisStreamsReader<T>>()
  private readonly settings: ReaderSettings<T>
  private readonly initial: RedisStreamSplit[]

  constructor(options: RedisStreamsSourceOptions<T>) {
    const where = 'Redis Streams source'
    checkRedisOptions(options, where)
    if (!Array.isArray(options.streams) || options.streams.length === 0) throw new WeirError('INVALID_CONFIG', `${where}: 'streams' must name at least one stream key`)
    const twice = options.streams.find((s, i) => options.streams.indexOf(s) !== i)
    if (twice !== undefined) throw new WeirError('INVALID_CONFIG', `${where}: stream '${twice}' is listed twice`)
    const start = options.start ?? 'earliest'
    if (typeof start === 'object' && !ID.test(start.after)) throw new WeirError('INVALID_CONFIG', `${where}: start.after must be a stream id like 1700000000000-0, got '${start.after}'`)
    for (const [name, v] of [['count', options.count], ['bufferSize', options.bufferSize], ['blockMs', options.blockMs]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new WeirError('INVALID_CONFIG', `${where}: ${name} must be a positive integer, got ${v}`)
    }
    this.boundedness = options.bounded ? 'bounded' : 'continuous'
    const count = options.count ?? 512
    this.settings = {
      connection: options,
      bounded: options.bounded ?? false,
      deserialize: options.deserialize ?? ((e) => e.fields as T),
      count,
      bufferSize: Math.max(count, options.bufferSize ?? 4096),
      blockMs: options.blockMs ?? 1000,
      retry: retrySettings(options.retry, where),
    }
    this.initial = options.streams.map((stream) => ({
      splitId: stream,
      stream,
      lastId: typeof start === 'object' ? start.after : '0-0',
      startLatest: start === 'latest',
      stopId: undefined,
      validated: false,
    }))
  }

  createEnumerator(context: SplitEnumeratorContext<RedisStreamSplit>): SplitEnumerator<RedisStreamSplit, RedisStreamSplit[]> {
    return new StaticSplitEnumerator(context, this.initial.map((s) => ({ ...s })))
  }

  restoreEnumerator(context: SplitEnumeratorContext<RedisStreamSplit>, state: RedisStreamSplit[]): SplitEnumerator<RedisStreamSplit, RedisStreamSplit[]> {
    return new StaticSplitEnumerator(context, state)
  }

  createReader(context: SourceReaderContext): RedisStreamsReader<T> {
    return this.readers.add(new RedisStreamsReader(this.settings, context.subtaskIndex, (r) => this.readers.retire(r)))
  }

  /** Counters summed over every reader of this source in this process. */
  metrics(): ConnectorMetrics {
    return this.readers.total()
  }
}

/** Parses XREAD / XRANGE entries: `[id, [field, value, ...]]`. */
function parseEntries(raw: unknown): [string, string[]][] {
  return Array.isArray(raw) ? (raw as [string, string[]][]) : []
}

/** Reads its streams into one bounded buffer; one connection, one loop. */
export class RedisStreamsReader<T> extends BufferedSplitReader<T, RedisStreamSplit, string> {
  private readonly redis: Promise<Redis>
  private readonly where: string
  private readonly server: string
  private loop: Promise<void> | undefined
  /** Per split: the id fetching goes on after (ahead of the held position by what is buffered). */
  private readonly cursors = new Map<string, string>()
  private readonly ended = new Set<string>()
  private wakeLoop: (() => void) | undefined

  constructor(
    private readonly settings: ReaderSettings<T>,
    subtask: number,
    private readonly onClose: (r: RedisStreamsReader<T>) => void,
  ) {
    super(settings.bufferSize, 256)
    this.server = describeRedis(settings.connection)
    this.where = `Redis Streams source (subtask ${subtask}, Redis at ${this.server})`
    this.redis = createRedis(settings.connection, this.metrics)
  }

  protected copySplit(split: RedisStreamSplit): RedisStreamSplit {
    return { ...split }
  }

  protected advance(split: RedisStreamSplit, position: string): void {
    split.lastId = position
  }

  protected startSplit(split: RedisStreamSplit): void {
    this.cursors.set(split.splitId, split.lastId)
    this.loop ??= this.run().catch((error: unknown) => this.fail(error))
    this.wakeLoop?.()
  }

  private retrying<R>(work: (redis: Redis) => Promise<R>): Promise<R> {
    return redisRetry(this.redis, work, { where: this.where, server: this.server, retry: this.settings.retry, metrics: this.metrics, signal: this.closing.signal })
  }

  /** Checks the key is a stream and fixes the split's start and (bounded) stop ids. */
  private async resolve(split: RedisStreamSplit): Promise<void> {
    const type = await this.retrying((redis) => redis.type(split.stream))
    if (type === 'none') {
      if (!split.validated) throw new WeirError('UNKNOWN_STREAM', `${this.where}: stream '${split.stream}' does not exist`)
      // Validated before: the server lost it (a restart without persistence); it starts over empty.
    } else if (type !== 'stream') {
      throw new WeirError('INVALID_CONFIG', `${this.where}: key '${split.stream}' holds a ${type}, not a stream`)
    }
    split.validated = true
    const lastGenerated = type === 'none' ? '0-0' : await this.retrying(async (redis) => lastGeneratedId(await redis.call('XINFO', 'STREAM', split.stream)))
    if (split.startLatest) {
      split.lastId = lastGenerated
      split.startLatest = false
      this.cursors.set(split.splitId, lastGenerated)
    }
    if (this.settings.bounded && split.stopId === undefined) split.stopId = lastGenerated
  }

  private async run(): Promise<void> {
    const { count, bounded, blockMs } = this.settings
    const resolved = new Set<string>()
    while (!this.closed) {
      const active = [...this.splits.values()].filter((s) => !this.ended.has(s.splitId))
      if (active.length === 0) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve))
        this.wakeLoop = undefined
        continue
      }
      for (const split of active) {
        if (!resolved.has(split.splitId)) {
          await this.resolve(split)
          resolved.add(split.splitId)
        }
      }
      await this.waitForSpace(count)
      if (this.closed) return
      if (bounded) {
        for (const split of active) {
          const after = this.cursors.get(split.splitId)!
          const stop = split.stopId!
          if (compareStreamIds(after, stop) >= 0) {
            this.finish(split)
            continue
          }
          const raw = await this.retrying((redis) => redis.call('XRANGE', split.stream, `(${after}`, stop, 'COUNT', String(count)))
          const entries = parseEntries(raw)
          this.take(split, entries)
          if (entries.length < count) this.finish(split)
        }
        continue
      }
      const keys = active.map((s) => s.stream)
      const ids = active.map((s) => this.cursors.get(s.splitId)!)
      const raw = await this.retrying((redis) => redis.call('XREAD', 'COUNT', String(count), 'BLOCK', String(blockMs), 'STREAMS', ...keys, ...ids))
      if (!Array.isArray(raw)) continue
      for (const [stream, entries] of raw as [string, unknown][]) {
        const split = active.find((s) => s.stream === stream)
        if (split) this.take(split, parseEntries(entries))
      }
    }
  }

  private take(split: RedisStreamSplit, entries: [string, string[]][]): void {
    const deserialize = this.settings.deserialize
    for (const [id, flat] of entries) {
      const fields: Record<string, string> = {}
      let bytes = id.length
      for (let i = 0; i + 1 < flat.length; i += 2) {
        fields[flat[i]] = flat[i + 1]
        bytes += flat[i].length + flat[i + 1].length
      }
      let value: T
      try {
        value = deserialize({ stream: split.stream, id, fields })
      } catch (cause) {
        throw new WeirError('DESERIALIZATION_FAILED', `${this.where}: cannot deserialize entry ${id} of '${split.stream}': ${messageOf(cause)}`, { cause })
      }
      this.offerNow(split.splitId, value, Number(id.slice(0, id.indexOf('-'))), id, bytes)
      this.cursors.set(split.splitId, id)
    }
  }

  private finish(split: RedisStreamSplit): void {
    this.ended.add(split.splitId)
    this.endSplit(split.splitId)
  }

  async close(): Promise<void> {
    this.releaseWaiters()
    this.wakeLoop?.()
    // A blocked XREAD ends with the connection.
    const redis = await this.redis
    redis.disconnect()
    await this.loop
    this.onClose(this)
  }
}

function lastGeneratedId(info: unknown): string {
  if (Array.isArray(info)) {
    const i = info.indexOf('last-generated-id')
    if (i >= 0 && typeof info[i + 1] === 'string') return info[i + 1] as string
  }
  return '0-0'
}
