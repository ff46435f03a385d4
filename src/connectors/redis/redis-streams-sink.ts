import type { Redis } from 'ioredis'
import type { Committer, Sink, SinkWriter, SinkWriterContext } from '../../api/connector/sink.ts'
import { WeirError } from '../../errors.ts'
import { MeteredInstances, newMetrics, type ConnectorMetrics, type Metered } from '../common/metrics.ts'
import { retrySettings, type RetryOptions, type RetrySettings } from '../common/retry.ts'
import { checkRedisOptions, createRedis, describeRedis, redisRetry, type RedisConnectionOptions } from './connection.ts'

/** What the sink promises. */
export type RedisGuarantee = 'exactly-once' | 'at-least-once'

/** Options of `RedisStreamsSink`. */
export interface RedisStreamsSinkOptions<T> extends RedisConnectionOptions {
  /** The stream key to add to, fixed or per record. */
  stream: string | ((value: T) => string)
  /** An entry's fields; default `{ data: <the record as JSON> }`. */
  toFields?: (value: T) => Record<string, string | number>
  /**
   * 'exactly-once' (default): a checkpoint's entries are added once it completes, in one MULTI/EXEC
   * with a marker key, so a re-commit adds nothing. 'at-least-once': entries are added as they come.
   */
  guarantee?: RedisGuarantee
  /** Trims each stream to about this many entries (`XADD ... MAXLEN ~ n`). */
  maxLen?: number
  /** Prefix of the commit marker keys; default `weir:sink-commit:`. */
  markerPrefix?: string
  /** How long commit markers live, in seconds; default 7 days. A restore older than that could add a checkpoint twice. */
  markerTtlSeconds?: number
  /** Entries per pipeline in at-least-once mode; default 512. */
  batchSize?: number
  retry?: RetryOptions
}

/** The entries one subtask wrote between two checkpoints, and the marker key that records their commit. */
export interface RedisStreamsCommittable {
  marker: string
  /** Per entry: stream key, then field, value, field, value... */
  entries: string[][]
}

interface SinkSettings<T> {
  connection: RedisConnectionOptions
  stream: string | ((value: T) => string)
  toFields: (value: T) => Record<string, string | number>
  guarantee: RedisGuarantee
  maxLen: number | undefined
  markerPrefix: string
  markerTtlSeconds: number
  batchSize: number
  retry: RetrySettings
}

/**
 * Adds records to Redis Streams (XADD). Exactly-once in two phases: a checkpoint's entries are its
 * committable; the committer adds them in one MULTI/EXEC that also sets a marker key naming (job,
 * operator, subtask, checkpoint). Before that it WATCHes and reads the marker: if it is set, an
 * earlier attempt committed the entries and nothing is added. MULTI/EXEC is atomic, so the entries
 * and the marker are there together or not at all. (Markers live as long as `markerTtlSeconds`,
 * and like the entries they survive a server restart only if the server persists its data.)
 */
export class RedisStreamsSink<T> implements Sink<T, RedisStreamsCommittable> {
  /** Writers of this sink created in this process, with their counters. */
  readonly writers = new MeteredInstances<Metered>()
  /** Committers of this sink created in this process, with their counters. */
  readonly committers = new MeteredInstances<Metered>()
  private readonly settings: SinkSettings<T>

  constructor(options: RedisStreamsSinkOptions<T>) {
    const where = 'Redis Streams sink'
    checkRedisOptions(options, where)
    if (typeof options.stream !== 'function' && (typeof options.stream !== 'string' || options.stream.length === 0)) {
      throw new WeirError('INVALID_CONFIG', `${where}: stream must be a key or a function of the record`)
    }
    const guarantee = options.guarantee ?? 'exactly-once'
    if (guarantee !== 'exactly-once' && guarantee !== 'at-least-once') throw new WeirError('INVALID_CONFIG', `${where}: unknown guarantee '${String(guarantee)}'`)
    for (const [name, v] of [['maxLen', options.maxLen], ['markerTtlSeconds', options.markerTtlSeconds], ['batchSize', options.batchSize]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new WeirError('INVALID_CONFIG', `${where}: ${name} must be a positive integer, got ${v}`)
    }
    this.settings = {
      connection: options,
      stream: options.stream,
      toFields: options.toFields ?? ((v) => ({ data: JSON.stringify(v) })),
      guarantee,
      maxLen: options.maxLen,
      markerPrefix: options.markerPrefix ?? 'weir:sink-commit:',
      markerTtlSeconds: options.markerTtlSeconds ?? 7 * 24 * 3600,
      batchSize: options.batchSize ?? 512,
      retry: retrySettings(options.retry, where),
    }
  }

  createWriter(context: SinkWriterContext): SinkWriter<T, RedisStreamsCommittable> & Metered {
    const writer = new RedisStreamsWriter(this.settings, context, (w) => this.writers.retire(w))
    this.writers.add(writer)
    return writer
  }

  createCommitter(): Committer<RedisStreamsCommittable> {
    const committer = new RedisStreamsCommitter(this.settings as SinkSettings<unknown>, (c) => this.committers.retire(c))
    this.committers.add(committer)
    return committer
  }

  /** Counters summed over this sink's writers and committers in this process (`recordsOut`: entries added). */
  metrics(): ConnectorMetrics {
    const w = this.writers.total()
    const c = this.committers.total()
    return { ...w, recordsOut: w.recordsOut + c.recordsOut, bytesOut: w.bytesOut + c.bytesOut, reconnects: w.reconnects + c.reconnects, retries: w.retries + c.retries }
  }
}

/** The XADD arguments after the key. */
function xaddArgs(maxLen: number | undefined): string[] {
  return maxLen === undefined ? ['*'] : ['MAXLEN', '~', String(maxLen), '*']
}

function entrySize(entry: string[]): number {
  let n = 0
  for (let i = 1; i < entry.length; i++) n += entry[i].length
  return n
}

class RedisStreamsWriter<T> implements SinkWriter<T, RedisStreamsCommittable>, Metered {
  readonly metrics = newMetrics()
  private readonly closing = new AbortController()
  private readonly redis: Promise<Redis>
  private readonly where: string
  private readonly server: string
  private entries: string[][] = []
  private io: Promise<void> = Promise.resolve()
  private failure: unknown
  private readonly checked: Promise<void>

  constructor(
    private readonly settings: SinkSettings<T>,
    private readonly context: SinkWriterContext,
    private readonly onClose: (w: RedisStreamsWriter<T>) => void,
  ) {
    this.server = describeRedis(settings.connection)
    this.where = `Redis Streams sink '${context.operatorName}' (subtask ${context.subtaskIndex}, Redis at ${this.server})`
    this.redis = createRedis(settings.connection, this.metrics)
    // Fails early on a bad address or login, or a key that is not a stream: the first write, flush or checkpoint reports it.
    this.checked = redisRetry(
      this.redis,
      async (redis) => {
        if (typeof settings.stream !== 'string') return void (await redis.ping())
        const type = await redis.type(settings.stream)
        if (type !== 'none' && type !== 'stream') throw new WeirError('INVALID_CONFIG', `${this.where}: key '${settings.stream}' holds a ${type}, not a stream`)
      },
      { where: this.where, server: this.server, retry: settings.retry, metrics: this.metrics, signal: this.closing.signal },
    )
    this.checked.catch((error: unknown) => (this.failure ??= error))
  }

  write(value: T): void {
    if (this.failure !== undefined) throw this.failure
    const { stream, toFields } = this.settings
    const entry = [typeof stream === 'string' ? stream : stream(value)]
    for (const [k, v] of Object.entries(toFields(value))) entry.push(k, String(v))
    this.entries.push(entry)
    this.metrics.recordsIn++
    this.metrics.bytesIn += entrySize(entry)
    if (this.settings.guarantee === 'at-least-once' && this.entries.length >= this.settings.batchSize) this.addBuffered()
  }

  private addBuffered(): void {
    const entries = this.entries
    this.entries = []
    this.io = this.io
      .then(async () => {
        if (this.failure !== undefined) return
        // Retried as a whole: entries added before a failure are added again (at-least-once).
        await redisRetry(
          this.redis,
          async (redis) => {
            const pipeline = redis.pipeline()
            for (const [key, ...fields] of entries) pipeline.xadd(key, ...xaddArgs(this.settings.maxLen), ...fields)
            const results = await pipeline.exec()
            const failed = results?.find(([error]) => error)
            if (failed) throw failed[0]
          },
          { where: this.where, server: this.server, retry: this.settings.retry, metrics: this.metrics, signal: this.closing.signal },
        )
        this.metrics.recordsOut += entries.length
        for (const e of entries) this.metrics.bytesOut += entrySize(e)
      })
      .catch((error: unknown) => {
        this.failure ??= error
      })
  }

  async flush(): Promise<void> {
    await this.checked.catch(() => {})
    if (this.settings.guarantee === 'at-least-once') {
      if (this.entries.length > 0) this.addBuffered()
      await this.io
    }
    if (this.failure !== undefined) throw this.failure
  }

  prepareCommit(checkpointId: number): RedisStreamsCommittable[] {
    if (this.failure !== undefined) throw this.failure
    if (this.settings.guarantee === 'at-least-once' || this.entries.length === 0) return []
    const { jobId, operatorName, subtaskIndex } = this.context
    const committable = { marker: `${this.settings.markerPrefix}${jobId}:${operatorName}:${subtaskIndex}:${checkpointId}`, entries: this.entries }
    this.entries = []
    return [committable]
  }

  async close(): Promise<void> {
    this.closing.abort()
    await this.io
    await this.checked.catch(() => {})
    const redis = await this.redis
    redis.disconnect()
    this.onClose(this)
  }
}

class RedisStreamsCommitter implements Committer<RedisStreamsCommittable>, Metered {
  readonly metrics = newMetrics()
  private readonly closing = new AbortController()
  private readonly redis: Promise<Redis>
  private readonly where: string
  private readonly server: string
  /** Committables found already committed (by an earlier attempt). */
  skipped = 0

  constructor(
    private readonly settings: SinkSettings<unknown>,
    private readonly onClose: (c: RedisStreamsCommitter) => void,
  ) {
    this.server = describeRedis(settings.connection)
    this.where = `Redis Streams sink committer (Redis at ${this.server})`
    this.redis = createRedis(settings.connection, this.metrics)
  }

  async commit(committables: RedisStreamsCommittable[]): Promise<void> {
    for (const c of committables) {
      const added = await redisRetry(this.redis, (redis) => this.commitOne(redis, c), {
        where: this.where,
        server: this.server,
        retry: this.settings.retry,
        metrics: this.metrics,
        signal: this.closing.signal,
      })
      if (!added) {
        this.skipped++
        continue
      }
      this.metrics.recordsOut += c.entries.length
      for (const e of c.entries) this.metrics.bytesOut += entrySize(e)
    }
  }

  /** One optimistic transaction; false when the marker says it was committed before. */
  private async commitOne(redis: Redis, c: RedisStreamsCommittable): Promise<boolean> {
    for (;;) {
      await redis.watch(c.marker)
      if ((await redis.exists(c.marker)) === 1) {
        await redis.unwatch()
        return false
      }
      const multi = redis.multi()
      multi.set(c.marker, '1', 'EX', this.settings.markerTtlSeconds)
      for (const [key, ...fields] of c.entries) multi.xadd(key, ...xaddArgs(this.settings.maxLen), ...fields)
      const results = await multi.exec()
      // Null: the marker changed after WATCH (another committer of the same checkpoint); look again.
      if (results === null) continue
      const failed = results.find(([error]) => error)
      if (failed) throw new WeirError('SINK_WRITE_FAILED', `${this.where}: ${String(failed[0])}`, { cause: failed[0] })
      return true
    }
  }

  async close(): Promise<void> {
    this.closing.abort()
    const redis = await this.redis
    redis.disconnect()
    this.onClose(this)
  }
}
