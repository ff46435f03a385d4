import type { JetStreamClient, JetStreamPublishOptions } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Committer, Sink, SinkWriter, SinkWriterContext } from '../../api/connector/sink.ts'
import { WeirError } from '../../errors.ts'
import { MeteredInstances, newMetrics, type ConnectorMetrics, type Metered } from '../common/metrics.ts'
import { Backoff, messageOf, retrySettings, sleep, type RetryOptions, type RetrySettings } from '../common/retry.ts'
import { checkNatsOptions, connectNats, describeServers, type NatsConnectionOptions } from './connection.ts'
import { loadNats, type NatsLibrary } from './library.ts'

/** What the sink promises. */
export type DeliveryGuarantee = 'exactly-once' | 'at-least-once'

/** Options of `JetStreamSink`. */
export interface JetStreamSinkOptions<T> extends NatsConnectionOptions {
  /** The subject to publish to, fixed or per record. */
  subject: string | ((value: T) => string)
  /**
   * 'exactly-once' (default): a checkpoint's records are published once the checkpoint completes,
   * each with a message id the stream deduplicates on. 'at-least-once': records are published as
   * they come, and a replay after a failure publishes them again (deduplicated only when
   * `messageId` gives replayed records their former ids).
   */
  guarantee?: DeliveryGuarantee
  /** The payload of a record; default: JSON. */
  serialize?: (value: T) => Uint8Array | string
  /** Headers of a record's message. */
  headers?: (value: T) => Record<string, string>
  /** At-least-once only: a deduplication id per record (e.g. from a business key). */
  messageId?: (value: T) => string
  /** Publishes awaiting the server's acknowledgement at most; default 512. */
  maxInFlight?: number
  retry?: RetryOptions
}

/** A message to publish, as kept in a checkpoint. */
export interface JetStreamOutMessage {
  subject: string
  data: Uint8Array
  headers?: [string, string][]
}

/**
 * The messages one subtask wrote between two checkpoints. Their deduplication ids are
 * `<id>:<index>`, with `id` naming job, operator, subtask and checkpoint, so publishing them again
 * (a re-commit after a restore) is dropped by the stream's duplicate window.
 */
export interface JetStreamCommittable {
  id: string
  messages: JetStreamOutMessage[]
}

const encoder = new TextEncoder()
/** A publish not acknowledged by then is retried (safe with ids); long waits only delay recovery after a server restart. */
const PUBLISH_TIMEOUT_MS = 2000

/**
 * Publishes records to NATS JetStream. Exactly-once works in two phases as the design's sinks do:
 * the writer keeps a checkpoint's records (they go into the checkpoint as its committable), and the
 * committer publishes them once the checkpoint is complete, each with a `Nats-Msg-Id` derived from
 * (job, operator, subtask, checkpoint, sequence). Publishing is retried until acknowledged; a
 * re-commit after a failure publishes the same ids, which the stream drops as duplicates, so the
 * guarantee holds as long as a recovery falls inside the stream's `duplicate_window` (2 minutes by
 * default; the writer refuses a stream without one).
 */
export class JetStreamSink<T> implements Sink<T, JetStreamCommittable> {
  /** Writers and committers of this sink created in this process, with their counters. */
  readonly writers = new MeteredInstances<Metered>()
  /** Committers of this sink created in this process, with their counters. */
  readonly committers = new MeteredInstances<Metered>()
  private readonly settings: SinkSettings<T>

  constructor(options: JetStreamSinkOptions<T>) {
    const where = 'JetStream sink'
    checkNatsOptions(options, where)
    if (typeof options.subject !== 'function' && (typeof options.subject !== 'string' || !/^[^\s*>]+$/.test(options.subject))) {
      throw new WeirError('INVALID_CONFIG', `${where}: subject must be a literal subject (no spaces or wildcards) or a function, got '${String(options.subject)}'`)
    }
    const guarantee = options.guarantee ?? 'exactly-once'
    if (guarantee !== 'exactly-once' && guarantee !== 'at-least-once') throw new WeirError('INVALID_CONFIG', `${where}: unknown guarantee '${String(guarantee)}'`)
    const maxInFlight = options.maxInFlight ?? 512
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new WeirError('INVALID_CONFIG', `${where}: maxInFlight must be a positive integer, got ${maxInFlight}`)
    const serialize = options.serialize ?? ((v: T) => JSON.stringify(v))
    this.settings = {
      connection: options,
      subject: options.subject,
      guarantee,
      encode: (value) => {
        const data = serialize(value)
        return typeof data === 'string' ? encoder.encode(data) : data
      },
      headers: options.headers,
      messageId: options.messageId,
      maxInFlight,
      retry: retrySettings(options.retry, where),
    }
  }

  createWriter(context: SinkWriterContext): SinkWriter<T, JetStreamCommittable> & Metered {
    const writer = new JetStreamWriter(this.settings, context, (w) => this.writers.retire(w))
    this.writers.add(writer)
    return writer
  }

  createCommitter(): Committer<JetStreamCommittable> {
    const committer = new JetStreamCommitter(this.settings as SinkSettings<unknown>, (c) => this.committers.retire(c))
    this.committers.add(committer)
    return committer
  }

  /**
   * Counters summed over this sink's writers and committers in this process: `recordsIn` counts
   * records written, `recordsOut` messages the stream stored (in exactly-once mode, on commit;
   * duplicates dropped by the stream are not counted).
   */
  metrics(): ConnectorMetrics {
    const w = this.writers.total()
    const c = this.committers.total()
    return { ...w, recordsOut: w.recordsOut + c.recordsOut, bytesOut: w.bytesOut + c.bytesOut, reconnects: w.reconnects + c.reconnects, retries: w.retries + c.retries }
  }
}

interface SinkSettings<T> {
  connection: NatsConnectionOptions
  subject: string | ((value: T) => string)
  guarantee: DeliveryGuarantee
  encode: (value: T) => Uint8Array
  headers: ((value: T) => Record<string, string>) | undefined
  messageId: ((value: T) => string) | undefined
  maxInFlight: number
  retry: RetrySettings
}

/** One publishing connection, opened lazily, with retried, windowed publishing. */
class Publisher {
  private connection: Promise<{ lib: NatsLibrary; nc: NatsConnection; js: JetStreamClient }> | undefined

  constructor(
    private readonly settings: SinkSettings<unknown>,
    private readonly where: string,
    private readonly metrics: ConnectorMetrics,
    private readonly signal: AbortSignal,
  ) {}

  connect(): Promise<{ lib: NatsLibrary; nc: NatsConnection; js: JetStreamClient }> {
    this.connection ??= connectNats(this.settings.connection, this.where, this.settings.retry, this.signal).then(async (nc) => {
      const lib = await loadNats()
      void (async () => {
        for await (const status of nc.status()) if (status.type === 'reconnect') this.metrics.reconnects++
      })()
      return { lib, nc, js: lib.jetstream.jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS }) }
    })
    this.connection.catch(() => (this.connection = undefined))
    return this.connection
  }

  /**
   * Checks a stream captures `subject` and deduplicates: without a duplicate window, ids would not
   * protect against a re-commit.
   */
  async checkSubject(subject: string, exactlyOnce: boolean): Promise<void> {
    const { nc, lib } = await this.connect()
    const jsm = await lib.jetstream.jetstreamManager(nc, { checkAPI: false, timeout: PUBLISH_TIMEOUT_MS })
    let stream: string
    try {
      stream = await jsm.streams.find(subject)
    } catch (error) {
      if (/no stream matches subject/i.test(messageOf(error))) {
        throw new WeirError('UNKNOWN_STREAM', `${this.where}: no JetStream stream captures subject '${subject}' on NATS at ${describeServers(this.settings.connection.servers)}`, { cause: error })
      }
      throw error
    }
    if (!exactlyOnce) return
    const info = await jsm.streams.info(stream)
    if (!(info.config.duplicate_window > 0)) {
      throw new WeirError('INVALID_CONFIG', `${this.where}: stream '${stream}' has no duplicate window, so an exactly-once sink cannot deduplicate a re-commit`)
    }
  }

  /**
   * Publishes every message, at most `maxInFlight` unacknowledged at a time, retrying failed ones
   * with backoff. Retrying is safe only with ids (the server drops a second copy), which
   * exactly-once always has.
   */
  async publishAll(messages: readonly JetStreamOutMessage[], idOf: (index: number) => string | undefined): Promise<void> {
    const backoff = new Backoff(this.settings.retry)
    let next = 0
    let failed: number[] = []
    let lastError: unknown
    const publishOne = async ({ js, lib }: { js: JetStreamClient; lib: NatsLibrary }, index: number): Promise<void> => {
      const m = messages[index]
      const options: Partial<JetStreamPublishOptions> = { timeout: PUBLISH_TIMEOUT_MS }
      const id = idOf(index)
      if (id !== undefined) options.msgID = id
      if (m.headers) {
        const h = lib.transport.headers()
        for (const [k, v] of m.headers) h.append(k, v)
        options.headers = h
      }
      try {
        const ack = await js.publish(m.subject, m.data, options)
        if (!ack.duplicate) {
          this.metrics.recordsOut++
          this.metrics.bytesOut += m.data.length
        }
      } catch (error) {
        lastError = error
        failed.push(index)
      }
    }
    let pending: number[] = messages.map((_, i) => i)
    for (;;) {
      const clients = await this.connect()
      next = 0
      const worker = async (): Promise<void> => {
        while (next < pending.length) await publishOne(clients, pending[next++])
      }
      await Promise.all(Array.from({ length: Math.min(this.settings.maxInFlight, pending.length) }, worker))
      if (failed.length === 0) return
      if (lastError instanceof clients.lib.jetstream.JetStreamApiError && !/no responders|timeout|not available|503/i.test(lastError.message)) {
        throw new WeirError('SINK_WRITE_FAILED', `${this.where}: the server rejected a message: ${lastError.message}`, { cause: lastError })
      }
      const delay = backoff.next()
      if (delay === undefined) {
        throw new WeirError('SINK_WRITE_FAILED', `${this.where}: publishing kept failing for ${Math.round(backoff.failingForMs)} ms: ${messageOf(lastError)}`, { cause: lastError })
      }
      if (this.signal.aborted) throw new WeirError('SINK_WRITE_FAILED', `${this.where}: closed while publishing: ${messageOf(lastError)}`, { cause: lastError })
      this.metrics.retries++
      pending = failed.sort((a, b) => a - b)
      failed = []
      await sleep(delay, this.signal)
    }
  }

  async close(): Promise<void> {
    const connection = await this.connection?.catch(() => undefined)
    this.connection = undefined
    await connection?.nc.close().catch(() => {})
  }
}

/** Serializes records; in exactly-once mode keeps them for the checkpoint, else publishes them at once. */
class JetStreamWriter<T> implements SinkWriter<T, JetStreamCommittable>, Metered {
  readonly metrics = newMetrics()
  private readonly closing = new AbortController()
  private readonly publisher: Publisher
  private readonly prefix: string
  private buffer: JetStreamOutMessage[] = []
  /** At-least-once: publishing runs behind `write` on this chain. */
  private inFlight: Promise<void> = Promise.resolve()
  private ids: (string | undefined)[] = []
  private failure: unknown
  private readonly checked: Promise<void>

  constructor(
    private readonly settings: SinkSettings<T>,
    context: SinkWriterContext,
    private readonly onClose: (w: JetStreamWriter<T>) => void,
  ) {
    const where = `JetStream sink '${context.operatorName}' (subtask ${context.subtaskIndex}, NATS at ${describeServers(settings.connection.servers)})`
    this.publisher = new Publisher(settings as SinkSettings<unknown>, where, this.metrics, this.closing.signal)
    this.prefix = `${context.jobId}:${context.operatorName}:${context.subtaskIndex}`
    // Fail early on a bad address or subject: the first write, flush or checkpoint reports it.
    this.checked = typeof settings.subject === 'string' ? this.publisher.checkSubject(settings.subject, settings.guarantee === 'exactly-once') : this.publisher.connect().then(() => {})
    this.checked.catch((error: unknown) => (this.failure ??= error))
  }

  write(value: T): void {
    if (this.failure !== undefined) throw this.failure
    const { subject, headers, encode } = this.settings
    const data = encode(value)
    const message: JetStreamOutMessage = { subject: typeof subject === 'string' ? subject : subject(value), data }
    if (headers) message.headers = Object.entries(headers(value))
    this.metrics.recordsIn++
    this.metrics.bytesIn += data.length
    this.buffer.push(message)
    if (this.settings.guarantee === 'at-least-once') {
      this.ids.push(this.settings.messageId?.(value))
      if (this.buffer.length >= this.settings.maxInFlight) this.publishBuffered()
    }
  }

  private publishBuffered(): void {
    const messages = this.buffer
    const ids = this.ids
    this.buffer = []
    this.ids = []
    this.inFlight = this.inFlight
      .then(async () => {
        if (this.failure === undefined) await this.publisher.publishAll(messages, (i) => ids[i])
      })
      .catch((error: unknown) => {
        this.failure ??= error
      })
  }

  async flush(): Promise<void> {
    await this.checked.catch(() => {})
    if (this.settings.guarantee === 'at-least-once') {
      if (this.buffer.length > 0) this.publishBuffered()
      await this.inFlight
    }
    if (this.failure !== undefined) throw this.failure
  }

  prepareCommit(checkpointId: number): JetStreamCommittable[] {
    if (this.failure !== undefined) throw this.failure
    if (this.settings.guarantee === 'at-least-once' || this.buffer.length === 0) return []
    const committable = { id: `${this.prefix}:${checkpointId}`, messages: this.buffer }
    this.buffer = []
    return [committable]
  }

  async close(): Promise<void> {
    this.closing.abort()
    await this.inFlight
    await this.checked.catch(() => {})
    await this.publisher.close()
    this.onClose(this)
  }
}

/** Publishes committed checkpoints' messages with their deduplication ids. */
class JetStreamCommitter implements Committer<JetStreamCommittable>, Metered {
  readonly metrics = newMetrics()
  private readonly closing = new AbortController()
  private readonly publisher: Publisher

  constructor(
    settings: SinkSettings<unknown>,
    private readonly onClose: (c: JetStreamCommitter) => void,
  ) {
    this.publisher = new Publisher(settings, `JetStream sink committer (NATS at ${describeServers(settings.connection.servers)})`, this.metrics, this.closing.signal)
  }

  async commit(committables: JetStreamCommittable[]): Promise<void> {
    for (const c of committables) {
      await this.publisher.publishAll(c.messages, (i) => `${c.id}:${i}`)
    }
  }

  async close(): Promise<void> {
    this.closing.abort()
    await this.publisher.close()
    this.onClose(this)
  }
}
