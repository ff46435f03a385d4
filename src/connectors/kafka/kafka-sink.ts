import type { Admin, Message, Producer } from 'kafkajs'
import type { Committer, Sink, SinkWriter, SinkWriterContext } from '../../api/connector/sink.ts'
import { WeirError } from '../../errors.ts'
import { MeteredInstances, newMetrics, type ConnectorMetrics, type Metered } from '../common/metrics.ts'
import { messageOf, retrySettings, withRetry, type RetryOptions, type RetrySettings } from '../common/retry.ts'
import { checkKafkaOptions, describeBrokers, isTransientKafkaError, kafkaClient, type KafkaConnectionOptions } from './kafka-source.ts'

/** Options of `KafkaSink`. */
export interface KafkaSinkOptions<T> extends KafkaConnectionOptions {
  /** The topic, fixed or per record. */
  topic: string | ((value: T) => string)
  /** A record's key (partitioning); default none. */
  key?: (value: T) => string | Buffer | null
  /** A record's value; default JSON. */
  serialize?: (value: T) => string | Buffer
  /**
   * 'exactly-once' (default): a checkpoint's records are written in one Kafka transaction once the
   * checkpoint completes. 'at-least-once': written as they come by an idempotent producer.
   */
  guarantee?: 'exactly-once' | 'at-least-once'
  /**
   * Exactly-once: the topic whose partition 0 carries the commit markers (as offsets committed for
   * a group per subtask); default the sink's topic when it is fixed.
   */
  markerTopic?: string
  /** Prefix of transactional ids and marker groups; default 'weir'. */
  transactionalIdPrefix?: string
  retry?: RetryOptions
}

/** A message as kept in a checkpoint. */
interface OutMessage {
  topic: string
  key: Buffer | null
  value: Buffer
}

/** The records one subtask wrote between two checkpoints, and who wrote them (which names the marker). */
export interface KafkaCommittable {
  jobId: string
  operator: string
  subtask: number
  checkpointId: number
  messages: OutMessage[]
}

interface SinkSettings<T> {
  connection: KafkaConnectionOptions
  topic: string | ((value: T) => string)
  key: ((value: T) => string | Buffer | null) | undefined
  serialize: (value: T) => string | Buffer
  guarantee: 'exactly-once' | 'at-least-once'
  markerTopic: string | undefined
  prefix: string
  retry: RetrySettings
}

/**
 * Writes records to Kafka. Exactly-once: a checkpoint's records are its committable; the committer
 * writes them in one transaction (transactional id per job, operator and subtask, so a new
 * attempt's producer fences the old one and aborts what it left open) that also commits, as the
 * offset of a private consumer group on the marker topic, the checkpoint id. A committed offset at
 * or past a committable's checkpoint means it was committed before: it is skipped. Records and marker
 * become visible together to `read_committed` consumers.
 */
export class KafkaSink<T> implements Sink<T, KafkaCommittable> {
  /** Writers of this sink created in this process, with their counters. */
  readonly writers = new MeteredInstances<Metered>()
  /** Committers of this sink created in this process, with their counters. */
  readonly committers = new MeteredInstances<Metered>()
  private readonly settings: SinkSettings<T>

  constructor(options: KafkaSinkOptions<T>) {
    const where = 'Kafka sink'
    checkKafkaOptions(options, where)
    if (typeof options.topic !== 'function' && (typeof options.topic !== 'string' || options.topic.length === 0)) throw new WeirError('INVALID_CONFIG', `${where}: topic must be a name or a function`)
    const guarantee = options.guarantee ?? 'exactly-once'
    const markerTopic = options.markerTopic ?? (typeof options.topic === 'string' ? options.topic : undefined)
    if (guarantee === 'exactly-once' && !markerTopic) throw new WeirError('INVALID_CONFIG', `${where}: with a topic per record, exactly-once needs 'markerTopic'`)
    const serialize = options.serialize ?? ((v: T) => JSON.stringify(v))
    this.settings = {
      connection: options,
      topic: options.topic,
      key: options.key,
      serialize,
      guarantee,
      markerTopic,
      prefix: options.transactionalIdPrefix ?? 'weir',
      retry: retrySettings(options.retry, where),
    }
  }

  createWriter(context: SinkWriterContext): SinkWriter<T, KafkaCommittable> & Metered {
    const writer = new KafkaWriter(this.settings, context, (w) => this.writers.retire(w))
    this.writers.add(writer)
    return writer
  }

  createCommitter(): Committer<KafkaCommittable> {
    const committer = new KafkaCommitter(this.settings as SinkSettings<unknown>, (c) => this.committers.retire(c))
    this.committers.add(committer)
    return committer
  }

  /** Counters summed over this sink's writers and committers in this process. */
  metrics(): ConnectorMetrics {
    const w = this.writers.total()
    const c = this.committers.total()
    return { ...w, recordsOut: w.recordsOut + c.recordsOut, bytesOut: w.bytesOut + c.bytesOut, reconnects: w.reconnects + c.reconnects, retries: w.retries + c.retries }
  }
}

function toBuffer(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v
}

/** Groups messages by topic for `sendBatch`. */
function byTopic(messages: readonly OutMessage[]): { topic: string; messages: Message[] }[] {
  const map = new Map<string, Message[]>()
  for (const m of messages) {
    const list = map.get(m.topic) ?? []
    list.push({ key: m.key, value: m.value })
    map.set(m.topic, list)
  }
  return [...map].map(([topic, list]) => ({ topic, messages: list }))
}

class KafkaWriter<T> implements SinkWriter<T, KafkaCommittable>, Metered {
  readonly metrics = newMetrics()
  private readonly where: string
  private messages: OutMessage[] = []
  private producer: Producer | undefined
  private failure: unknown
  private readonly checked: Promise<void>

  constructor(
    private readonly settings: SinkSettings<T>,
    private readonly context: SinkWriterContext,
    private readonly onClose: (w: KafkaWriter<T>) => void,
  ) {
    this.where = `Kafka sink '${context.operatorName}' (subtask ${context.subtaskIndex}, brokers ${describeBrokers(settings.connection)})`
    this.checked = this.check()
    this.checked.catch((error: unknown) => (this.failure ??= error))
  }

  /** Fails early on unreachable brokers or a missing topic. */
  private async check(): Promise<void> {
    const admin: Admin = (await kafkaClient(this.settings.connection)).kafka.admin()
    try {
      await withRetry(() => admin.connect(), {
        settings: this.settings.retry,
        isTransient: isTransientKafkaError,
        describe: (error) => new WeirError('CONNECTOR_UNREACHABLE', `${this.where}: cannot connect: ${messageOf(error)}`, { cause: error }),
      })
      const topics = new Set(await admin.listTopics())
      for (const t of [typeof this.settings.topic === 'string' ? this.settings.topic : undefined, this.settings.markerTopic]) {
        if (t !== undefined && !topics.has(t)) throw new WeirError('UNKNOWN_TOPIC', `${this.where}: topic '${t}' does not exist`)
      }
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }

  write(value: T): void {
    if (this.failure !== undefined) throw this.failure
    const { topic, key, serialize } = this.settings
    const k = key?.(value)
    const m: OutMessage = { topic: typeof topic === 'string' ? topic : topic(value), key: k === undefined || k === null ? null : toBuffer(k), value: toBuffer(serialize(value)) }
    this.messages.push(m)
    this.metrics.recordsIn++
    this.metrics.bytesIn += m.value.length + (m.key?.length ?? 0)
  }

  async flush(): Promise<void> {
    await this.checked.catch(() => {})
    if (this.failure !== undefined) throw this.failure
    if (this.settings.guarantee !== 'at-least-once' || this.messages.length === 0) return
    const messages = this.messages
    this.messages = []
    this.producer ??= (await kafkaClient(this.settings.connection)).kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
    const producer = this.producer
    await withRetry(
      async () => {
        await producer.connect()
        await producer.sendBatch({ topicMessages: byTopic(messages), acks: -1 })
      },
      {
        settings: this.settings.retry,
        isTransient: isTransientKafkaError,
        describe: (error) => new WeirError('SINK_WRITE_FAILED', `${this.where}: ${messageOf(error)}`, { cause: error }),
        onRetry: () => this.metrics.retries++,
      },
    )
    this.metrics.recordsOut += messages.length
    for (const m of messages) this.metrics.bytesOut += m.value.length + (m.key?.length ?? 0)
  }

  prepareCommit(checkpointId: number): KafkaCommittable[] {
    if (this.failure !== undefined) throw this.failure
    if (this.settings.guarantee === 'at-least-once' || this.messages.length === 0) return []
    const { jobId, operatorName, subtaskIndex } = this.context
    const c = { jobId, operator: operatorName, subtask: subtaskIndex, checkpointId, messages: this.messages }
    this.messages = []
    return [c]
  }

  async close(): Promise<void> {
    await this.checked.catch(() => {})
    await this.producer?.disconnect().catch(() => {})
    this.onClose(this)
  }
}

class KafkaCommitter implements Committer<KafkaCommittable>, Metered {
  readonly metrics = newMetrics()
  private readonly producers = new Map<string, Producer>()
  private admin: Admin | undefined
  private readonly where: string

  constructor(
    private readonly settings: SinkSettings<unknown>,
    private readonly onClose: (c: KafkaCommitter) => void,
  ) {
    this.where = `Kafka sink committer (brokers ${describeBrokers(settings.connection)})`
  }

  async commit(committables: KafkaCommittable[]): Promise<void> {
    for (const c of committables) {
      await withRetry(() => this.commitOne(c), {
        settings: this.settings.retry,
        isTransient: isTransientKafkaError,
        describe: (error) => new WeirError('SINK_COMMIT_FAILED', `${this.where}: checkpoint ${c.checkpointId} of subtask ${c.subtask}: ${messageOf(error)}`, { cause: error }),
        onRetry: () => this.metrics.retries++,
      })
    }
  }

  private async commitOne(c: KafkaCommittable): Promise<void> {
    const name = `${this.settings.prefix}-${c.jobId}-${c.operator}-${c.subtask}`
    const markerTopic = this.settings.markerTopic!
    this.admin ??= (await kafkaClient(this.settings.connection)).kafka.admin()
    await this.admin.connect()
    const committed = await this.admin.fetchOffsets({ groupId: name, topics: [markerTopic] })
    const offset = committed[0]?.partitions.find((p) => p.partition === 0)?.offset
    if (offset !== undefined && offset !== '-1' && BigInt(offset) >= BigInt(c.checkpointId)) return
    let producer = this.producers.get(name)
    if (!producer) {
      producer = (await kafkaClient(this.settings.connection)).kafka.producer({ transactionalId: name, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
      this.producers.set(name, producer)
    }
    await producer.connect()
    const txn = await producer.transaction()
    try {
      await txn.sendBatch({ topicMessages: byTopic(c.messages), acks: -1 })
      await txn.sendOffsets({ consumerGroupId: name, topics: [{ topic: markerTopic, partitions: [{ partition: 0, offset: String(c.checkpointId) }] }] })
      await txn.commit()
    } catch (error) {
      await txn.abort().catch(() => {})
      throw error
    }
    this.metrics.recordsOut += c.messages.length
    for (const m of c.messages) this.metrics.bytesOut += m.value.length + (m.key?.length ?? 0)
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.producers.values()].map((p) => p.disconnect()))
    await this.admin?.disconnect().catch(() => {})
    this.onClose(this)
  }
}
