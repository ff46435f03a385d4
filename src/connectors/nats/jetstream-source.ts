import type { ConsumerConfig, ConsumerInfo, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Boundedness, Source, SourceReaderContext, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../../api/connector/source.ts'
import { WeirError } from '../../errors.ts'
import { MeteredInstances, type ConnectorMetrics } from '../common/metrics.ts'
import { Backoff, messageOf, retrySettings, sleep, type RetryOptions, type RetrySettings } from '../common/retry.ts'
import { BufferedSplitReader } from '../common/split-reader.ts'
import { StaticSplitEnumerator } from '../sources/sequence-source.ts'
import { checkNatsOptions, connectNats, describeServers, type NatsConnectionOptions } from './connection.ts'
import { loadedNats, loadNats, type NatsLibrary } from './library.ts'

/** One stream to read, optionally narrowed to the subjects matching `filter`. */
export interface JetStreamStreamSpec {
  stream: string
  filter?: string
}

/** Where a split starts when no checkpoint says otherwise. */
export type JetStreamStart = 'earliest' | 'latest' | { sequence: number } | { time: Date | number }

/** A message as the deserializer sees it. */
export interface JetStreamMessage {
  subject: string
  data: Uint8Array
  /** The stream sequence. */
  sequence: number
  /** When the server stored the message, in ms since the epoch. */
  timestamp: number
  headers: ReadonlyMap<string, string[]> | undefined
}

/** Options of `JetStreamSource`. */
export interface JetStreamSourceOptions<T> extends NatsConnectionOptions {
  /** The streams to read; each (stream, filter) is one split. */
  streams: readonly (string | JetStreamStreamSpec)[]
  /** Where to start without a checkpoint; default 'earliest'. */
  start?: JetStreamStart
  /**
   * True: read what the stream holds when the reader first connects, then end (a bounded source, for
   * backfills and tests). Default false: read on forever.
   */
  bounded?: boolean
  /** Turns a message into a record; default: the payload parsed as JSON. */
  deserialize?: (message: JetStreamMessage) => T
  /** Messages asked for per pull request; default 512. */
  fetchBatch?: number
  /** Messages buffered ahead per reader at most; default 4096. */
  bufferSize?: number
  /** How long a pull request waits for messages on the server; default 2000 ms. */
  fetchExpiresMs?: number
  retry?: RetryOptions
}

/**
 * A (stream, filter) being read. `nextSequence` is the position: the stream sequence to read next;
 * 0 while the start has not been resolved against the stream.
 */
export interface JetStreamSplit extends SourceSplit {
  stream: string
  filter: string | undefined
  nextSequence: number
  /** A bounded split ends after this sequence; resolved at the first connect (0 until then). */
  stopSequence: number
  /** Start time in ms for a split that starts by time and has not read anything yet. */
  startTime: number | undefined
  /** The stream was found once: a later 'stream not found' is a server still recovering, not a bad name. */
  validated: boolean
}

const decoder = new TextDecoder()
const API_TIMEOUT_MS = 1500

function defaultDeserialize<T>(message: JetStreamMessage): T {
  return JSON.parse(decoder.decode(message.data)) as T
}

function positiveInt(value: number | undefined, fallback: number, name: string, where: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value <= 0) throw new WeirError('INVALID_CONFIG', `${where}: ${name} must be a positive integer, got ${value}`)
  return value
}

/**
 * Reads NATS JetStream streams, exactly-once: each (stream, subject filter) is a split whose
 * position is the stream sequence, kept in the checkpoint, so a restore replays from exactly the
 * sequence after the last record of the checkpoint. Each split is read through an ephemeral pull
 * consumer the reader creates (and deletes on close), without acks: the server keeps no position;
 * after a failure, a gap or a server restart the reader makes a new consumer starting where it was.
 * Records carry the message's server timestamp as event time (a timestamp assigner may override it).
 */
export class JetStreamSource<T> implements Source<T, JetStreamSplit, JetStreamSplit[]> {
  readonly boundedness: Boundedness
  /** Readers of this source created in this process, with their counters. */
  readonly readers = new MeteredInstances<JetStreamReader<T>>()
  private readonly specs: JetStreamStreamSpec[]
  private readonly settings: ReaderSettings<T>

  constructor(private readonly options: JetStreamSourceOptions<T>) {
    const where = 'JetStream source'
    checkNatsOptions(options, where)
    if (!Array.isArray(options.streams) || options.streams.length === 0) throw new WeirError('INVALID_CONFIG', `${where}: 'streams' must name at least one stream`)
    this.specs = options.streams.map((s) => (typeof s === 'string' ? { stream: s } : { stream: s.stream, filter: s.filter }))
    for (const spec of this.specs) {
      if (typeof spec.stream !== 'string' || !/^[^\s.*>]+$/.test(spec.stream)) {
        throw new WeirError('INVALID_CONFIG', `${where}: '${String(spec.stream)}' is not a valid stream name (no spaces, dots, '*' or '>')`)
      }
    }
    const ids = this.specs.map(splitIdOf)
    const twice = ids.find((id, i) => ids.indexOf(id) !== i)
    if (twice) throw new WeirError('INVALID_CONFIG', `${where}: '${twice}' is listed twice`)
    const start = options.start ?? 'earliest'
    if (typeof start === 'object' && 'sequence' in start && !(Number.isInteger(start.sequence) && start.sequence >= 1)) {
      throw new WeirError('INVALID_CONFIG', `${where}: start.sequence must be an integer >= 1, got ${start.sequence}`)
    }
    this.boundedness = options.bounded ? 'bounded' : 'continuous'
    // The client refuses shorter pull requests.
    if (options.fetchExpiresMs !== undefined && options.fetchExpiresMs < 1000) throw new WeirError('INVALID_CONFIG', `${where}: fetchExpiresMs must be at least 1000, got ${options.fetchExpiresMs}`)
    const fetchBatch = positiveInt(options.fetchBatch, 512, 'fetchBatch', where)
    this.settings = {
      connection: options,
      start,
      bounded: options.bounded ?? false,
      deserialize: options.deserialize ?? defaultDeserialize,
      fetchBatch,
      bufferSize: Math.max(fetchBatch, positiveInt(options.bufferSize, 4096, 'bufferSize', where)),
      expiresMs: positiveInt(options.fetchExpiresMs, 2000, 'fetchExpiresMs', where),
      retry: retrySettings(options.retry, where),
    }
  }

  private initialSplits(): JetStreamSplit[] {
    const start = this.settings.start
    const nextSequence = typeof start === 'object' && 'sequence' in start ? start.sequence : 0
    const startTime = typeof start === 'object' && 'time' in start ? new Date(start.time).getTime() : undefined
    return this.specs.map((spec) => ({ splitId: splitIdOf(spec), stream: spec.stream, filter: spec.filter, nextSequence, stopSequence: 0, startTime, validated: false }))
  }

  createEnumerator(context: SplitEnumeratorContext<JetStreamSplit>): SplitEnumerator<JetStreamSplit, JetStreamSplit[]> {
    return new StaticSplitEnumerator(context, this.initialSplits())
  }

  restoreEnumerator(context: SplitEnumeratorContext<JetStreamSplit>, state: JetStreamSplit[]): SplitEnumerator<JetStreamSplit, JetStreamSplit[]> {
    return new StaticSplitEnumerator(context, state)
  }

  createReader(context: SourceReaderContext): JetStreamReader<T> {
    return this.readers.add(new JetStreamReader(this.settings, context.subtaskIndex, (r) => this.readers.retire(r)))
  }

  /** Counters summed over every reader of this source in this process. */
  metrics(): ConnectorMetrics {
    return this.readers.total()
  }
}

function splitIdOf(spec: JetStreamStreamSpec): string {
  return spec.filter ? `${spec.stream}:${spec.filter}` : spec.stream
}

interface ReaderSettings<T> {
  connection: NatsConnectionOptions
  start: JetStreamStart
  bounded: boolean
  deserialize: (message: JetStreamMessage) => T
  fetchBatch: number
  bufferSize: number
  expiresMs: number
  retry: RetrySettings
}

/** The client side of a connection: shared by the splits of one reader. */
interface Clients {
  lib: NatsLibrary
  nc: NatsConnection
  jsm: JetStreamManager
  js: JetStreamClient
}

/** Reads the splits of one subtask, each through its own pull consumer, into one bounded buffer. */
export class JetStreamReader<T> extends BufferedSplitReader<T, JetStreamSplit, number> {
  private clients: Promise<Clients> | undefined
  /** Consumers this reader created and has not deleted, with their streams. */
  private readonly consumers = new Map<string, string>()
  private readonly loops = new Set<Promise<void>>()
  private readonly stops = new Set<() => void>()
  private readonly where: string

  constructor(
    private readonly settings: ReaderSettings<T>,
    subtask: number,
    private readonly onClose: (reader: JetStreamReader<T>) => void,
  ) {
    super(settings.bufferSize, 256)
    this.where = `JetStream source (subtask ${subtask}, NATS at ${describeServers(settings.connection.servers)})`
  }

  protected copySplit(split: JetStreamSplit): JetStreamSplit {
    return { ...split }
  }

  protected advance(split: JetStreamSplit, position: number): void {
    split.nextSequence = position
    split.startTime = undefined
  }

  protected startSplit(split: JetStreamSplit): void {
    const loop = this.readSplit(split).catch((error: unknown) => this.fail(error))
    this.loops.add(loop)
    void loop.finally(() => this.loops.delete(loop))
  }

  private connection(): Promise<Clients> {
    this.clients ??= connectNats(this.settings.connection, this.where, this.settings.retry, this.closing.signal).then(async (nc) => {
      if (this.closed) {
        await nc.close()
        throw new WeirError('READER_CLOSED', `${this.where}: closed`)
      }
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type !== 'reconnect' && status.type !== 'disconnect') continue
          if (status.type === 'reconnect') this.metrics.reconnects++
          // A pull request in flight is lost with the connection (and its consumer may be gone with
          // the server): end it now rather than wait for its watchdog; the loop makes a new one.
          for (const stop of this.stops) stop()
        }
      })()
      // Short API timeouts: a request sent while the server is still starting gets no answer, and the
      // retry should not wait long for that.
      const lib = await loadNats()
      return { lib, nc, jsm: await lib.jetstream.jetstreamManager(nc, { checkAPI: false, timeout: API_TIMEOUT_MS }), js: lib.jetstream.jetstream(nc, { timeout: API_TIMEOUT_MS }) }
    })
    // A failed first connect must not stick: the next try connects again.
    this.clients.catch(() => (this.clients = undefined))
    return this.clients
  }

  /**
   * Checks the stream exists and fixes the split's start and (bounded) stop sequences. Writes into
   * the held split: nothing of it was emitted yet, so its position is still the start.
   */
  private async resolve(split: JetStreamSplit, { jsm, lib }: Clients): Promise<void> {
    let info
    try {
      info = await jsm.streams.info(split.stream)
    } catch (error) {
      if (!split.validated && error instanceof lib.jetstream.JetStreamApiError && /stream not found/i.test(error.message)) {
        throw new WeirError('UNKNOWN_STREAM', `${this.where}: stream '${split.stream}' does not exist`, { cause: error })
      }
      throw error
    }
    split.validated = true
    if (split.nextSequence === 0 && split.startTime === undefined) {
      split.nextSequence = this.settings.start === 'latest' ? info.state.last_seq + 1 : Math.max(1, info.state.first_seq)
    }
    if (this.settings.bounded && split.stopSequence === 0) split.stopSequence = Math.max(info.state.last_seq, 1)
  }

  private async createConsumer(clients: Clients, split: JetStreamSplit, from: { sequence: number; time: number | undefined }): Promise<ConsumerInfo> {
    const name = `weir_${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}`
    const { AckPolicy, DeliverPolicy, JetStreamApiError } = clients.lib.jetstream
    const config: Partial<ConsumerConfig> = {
      name,
      ack_policy: AckPolicy.None,
      // The server forgets the consumer if this reader dies without deleting it.
      inactive_threshold: 60_000_000_000,
      mem_storage: true,
      num_replicas: 1,
      ...(from.time !== undefined && from.sequence === 0
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from.time).toISOString() }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.sequence }),
      ...(split.filter ? { filter_subject: split.filter } : {}),
    }
    try {
      const info = await clients.jsm.consumers.add(split.stream, config)
      this.consumers.set(name, split.stream)
      return info
    } catch (error) {
      if (!split.validated || !(error instanceof JetStreamApiError) || /stream not found/i.test(error.message)) throw error
      // The stream exists, so the server rejected the consumer itself: a bad filter, say.
      throw new WeirError('INVALID_CONFIG', `${this.where}: cannot read stream '${split.stream}'${split.filter ? ` with filter '${split.filter}'` : ''}: ${error.message}`, { cause: error })
    }
  }

  private deleteConsumer(clients: Clients | undefined, name: string | undefined): Promise<void> {
    const stream = name === undefined ? undefined : this.consumers.get(name)
    if (!clients || !name || stream === undefined) return Promise.resolve()
    this.consumers.delete(name)
    return clients.jsm.consumers.delete(stream, name).then(
      () => {},
      () => {
        // Gone already, or the server is down: its inactivity threshold removes it.
      },
    )
  }

  private async readSplit(held: JetStreamSplit): Promise<void> {
    const splitId = held.splitId
    const backoff = new Backoff(this.settings.retry)
    const { fetchBatch, expiresMs, bounded, deserialize } = this.settings
    // Where fetching goes on from: ahead of the held split's position by what is buffered.
    let cursor = { sequence: held.nextSequence, time: held.startTime }
    let resolved = false
    while (!this.closed && this.splits.get(splitId) === held) {
      let clients: Clients | undefined
      let consumer: string | undefined
      try {
        clients = await this.connection()
        if (!resolved) {
          await this.resolve(held, clients)
          resolved = true
          cursor = { sequence: held.nextSequence, time: held.startTime }
          if (bounded && cursor.sequence > held.stopSequence) return this.endSplit(splitId)
        }
        const info = await this.createConsumer(clients, held, cursor)
        consumer = info.name
        backoff.reset()
        if (bounded && info.num_pending === 0) return this.endSplit(splitId)
        const pull = clients.js.consumers.getConsumerFromInfo(info)
        let delivered = 0
        for (;;) {
          await this.waitForSpace(fetchBatch)
          if (this.closed || this.splits.get(splitId) !== held) return
          const messages = await pull.fetch({ max_messages: fetchBatch, expires: expiresMs })
          // A pull that outlives its expiry by far lost its connection or its consumer.
          const stop = (): void => messages.stop(new Error('pull request stalled'))
          const watchdog = setTimeout(stop, expiresMs + 5000)
          this.stops.add(stop)
          let ended = false
          try {
            for await (const m of messages) {
              if (m.info.deliverySequence !== delivered + 1) throw new Error(`messages missed: delivery ${m.info.deliverySequence} after ${delivered}`)
              delivered = m.info.deliverySequence
              const sequence = m.info.streamSequence
              if (bounded && sequence > held.stopSequence) {
                ended = true
                break
              }
              const message = toMessage(m, sequence)
              let value: T
              try {
                value = deserialize(message)
              } catch (cause) {
                throw new WeirError('DESERIALIZATION_FAILED', `${this.where}: cannot deserialize message ${sequence} of '${splitId}' (subject ${m.subject}): ${messageOf(cause)}`, { cause })
              }
              this.offerNow(splitId, value, message.timestamp, sequence + 1, m.data.length)
              cursor = { sequence: sequence + 1, time: undefined }
              if (bounded && (sequence >= held.stopSequence || m.info.pending === 0)) {
                ended = true
                break
              }
            }
          } finally {
            clearTimeout(watchdog)
            this.stops.delete(stop)
          }
          if (ended) {
            messages.stop()
            void this.deleteConsumer(clients, consumer)
            return this.endSplit(splitId)
          }
        }
      } catch (error) {
        if (this.closed) return
        if (error instanceof WeirError) throw error
        const InvalidArgumentError = loadedNats()?.transport.InvalidArgumentError
        if (InvalidArgumentError && error instanceof InvalidArgumentError) throw new WeirError('INVALID_CONFIG', `${this.where}: ${error.message}`, { cause: error })
        void this.deleteConsumer(clients, consumer)
        const delay = backoff.next()
        if (delay === undefined) {
          throw new WeirError('CONNECTOR_UNAVAILABLE', `${this.where}: reading '${splitId}' kept failing for ${Math.round(backoff.failingForMs)} ms: ${messageOf(error)}`, { cause: error })
        }
        this.metrics.retries++
        await sleep(delay, this.closing.signal)
      }
    }
  }

  async close(): Promise<void> {
    this.releaseWaiters()
    for (const stop of this.stops) stop()
    await Promise.allSettled([...this.loops])
    const clients = await this.clients?.catch(() => undefined)
    if (clients) {
      // Deleting is a courtesy (the server drops idle consumers anyway): never wait long for it.
      await Promise.race([Promise.all([...this.consumers.keys()].map((name) => this.deleteConsumer(clients, name))), sleep(1000)])
      await clients.nc.close().catch(() => {})
    }
    this.onClose(this)
  }
}

function toMessage(m: JsMsg, sequence: number): JetStreamMessage {
  let headers: Map<string, string[]> | undefined
  if (m.headers) {
    headers = new Map()
    for (const [k, v] of m.headers) headers.set(k, v)
  }
  return { subject: m.subject, data: m.data, sequence, timestamp: Math.floor(m.info.timestampNanos / 1e6), headers }
}
