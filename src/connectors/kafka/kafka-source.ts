import type { Admin, Consumer, Kafka, KafkaConfig, PartitionAssigner } from 'kafkajs'
import type { Boundedness, Source, SourceReaderContext, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../../api/connector/source.ts'
import { WeirError } from '../../errors.ts'
import { MeteredInstances, type ConnectorMetrics } from '../common/metrics.ts'
import { messageOf, retrySettings, sleep, withRetry, type RetryOptions, type RetrySettings } from '../common/retry.ts'
import { BufferedSplitReader, DiscoveringSplitEnumerator, type DiscoveryState, type SplitFailure } from '../common/split-reader.ts'

/** Where and how to reach Kafka. */
export interface KafkaConnectionOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[]
  clientId?: string
  ssl?: KafkaConfig['ssl']
  sasl?: KafkaConfig['sasl']
}

/** A record as the deserializer sees it. */
export interface KafkaRecord {
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  /** Ms since the epoch (create or log-append time, as the topic says). */
  timestamp: number
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>
}

/** Options of `KafkaSource`. */
export interface KafkaSourceOptions<T> extends KafkaConnectionOptions {
  topics: readonly string[]
  /** Where a partition starts without a checkpoint; default 'earliest'. */
  start?: 'earliest' | 'latest'
  /** True: read up to the end offsets found at discovery, then end. */
  bounded?: boolean
  /** A record's value; default: the value parsed as JSON. */
  deserialize?: (record: KafkaRecord) => T
  /** Records buffered ahead per reader at most; default 4096. */
  bufferSize?: number
  retry?: RetryOptions
}

/** A partition; `nextOffset` is the position (the offset to read next). */
export interface KafkaPartitionSplit extends SourceSplit {
  topic: string
  partition: number
  nextOffset: string
  /** Bounded: the partition ends before this offset. */
  stopOffset: string | null
  failure?: SplitFailure
}

/** The brokers, for messages. */
export function describeBrokers(options: KafkaConnectionOptions): string {
  return options.brokers.join(',')
}

/** Rejects options that can never work. */
export function checkKafkaOptions(options: KafkaConnectionOptions, where: string): void {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0 || options.brokers.some((b) => typeof b !== 'string' || !/^[^:\s]+:\d+$/.test(b))) {
    throw new WeirError('INVALID_CONFIG', `${where}: 'brokers' must list host:port addresses, got ${JSON.stringify(options.brokers)}`)
  }
}

type KafkaLibrary = typeof import('kafkajs')

/**
 * A client; kafkajs' own retries are kept short so the connector's backoff decides. The library is
 * loaded on first use, so that importing Weir does not load every connector's client.
 */
export async function kafkaClient(options: KafkaConnectionOptions): Promise<{ kafka: Kafka; lib: KafkaLibrary }> {
  const lib = await import('kafkajs')
  const { Kafka, logLevel } = lib
  const kafka = new Kafka({
    brokers: [...options.brokers],
    clientId: options.clientId ?? 'weir',
    ssl: options.ssl,
    sasl: options.sasl,
    connectionTimeout: 5000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: logLevel.NOTHING,
  })
  return { kafka, lib }
}

/** True when kafkajs says the failure may pass. */
export function isTransientKafkaError(error: unknown): boolean {
  const e = error as { retriable?: unknown; name?: unknown; cause?: unknown }
  if (e.retriable === true) return true
  if (typeof e.name === 'string' && /Connection|Network|RequestTimeout|NumberOfRetriesExceeded/.test(e.name)) return true
  return e.cause !== undefined && e.cause !== error ? isTransientKafkaError(e.cause) : false
}

const decoder = new TextDecoder()

/**
 * Reads Kafka topics, exactly-once: partitions are splits whose position (the next offset) is kept
 * in checkpoints, so a restore reads on from exactly there. Offsets are never committed to Kafka:
 * each reader joins a consumer group of its own, with an assignor that gives it exactly its splits,
 * and seeks every partition to its split's offset. Discovery (partitions and, for bounded reads, end
 * offsets) happens once, at the job's first start. Records carry Kafka's timestamp as event time.
 */
export class KafkaSource<T> implements Source<T, KafkaPartitionSplit, DiscoveryState<KafkaPartitionSplit>> {
  readonly boundedness: Boundedness
  /** Readers of this source created in this process, with their counters. */
  readonly readers = new MeteredInstances<KafkaReader<T>>()
  private readonly retry: RetrySettings
  private readonly where = 'Kafka source'

  constructor(private readonly options: KafkaSourceOptions<T>) {
    checkKafkaOptions(options, this.where)
    if (!Array.isArray(options.topics) || options.topics.length === 0) throw new WeirError('INVALID_CONFIG', `${this.where}: 'topics' must name at least one topic`)
    this.retry = retrySettings(options.retry, this.where)
    this.boundedness = options.bounded ? 'bounded' : 'continuous'
  }

  createEnumerator(context: SplitEnumeratorContext<KafkaPartitionSplit>): SplitEnumerator<KafkaPartitionSplit, DiscoveryState<KafkaPartitionSplit>> {
    return new DiscoveringSplitEnumerator(context, () => this.discover(), this.options.bounded ?? false)
  }

  restoreEnumerator(context: SplitEnumeratorContext<KafkaPartitionSplit>, state: DiscoveryState<KafkaPartitionSplit>): SplitEnumerator<KafkaPartitionSplit, DiscoveryState<KafkaPartitionSplit>> {
    return new DiscoveringSplitEnumerator(context, () => this.discover(), this.options.bounded ?? false, state)
  }

  createReader(context: SourceReaderContext): KafkaReader<T> {
    return this.readers.add(new KafkaReader(this.options, this.retry, context.subtaskIndex, (r) => this.readers.retire(r)))
  }

  /** Counters summed over every reader of this source in this process. */
  metrics(): ConnectorMetrics {
    return this.readers.total()
  }

  private async discover(): Promise<KafkaPartitionSplit[]> {
    const admin: Admin = (await kafkaClient(this.options)).kafka.admin()
    const where = `${this.where} (brokers ${describeBrokers(this.options)})`
    try {
      await withRetry(() => admin.connect(), {
        settings: this.retry,
        isTransient: isTransientKafkaError,
        describe: (error) => new WeirError('CONNECTOR_UNREACHABLE', `${where}: cannot connect: ${messageOf(error)}`, { cause: error }),
      })
      const existing = new Set(await admin.listTopics())
      const missing = this.options.topics.filter((t) => !existing.has(t))
      if (missing.length > 0) throw new WeirError('UNKNOWN_TOPIC', `${where}: topic(s) ${missing.join(', ')} do not exist`)
      const splits: KafkaPartitionSplit[] = []
      for (const topic of [...this.options.topics].sort()) {
        const offsets = await admin.fetchTopicOffsets(topic)
        for (const p of offsets.sort((a, b) => a.partition - b.partition)) {
          splits.push({
            splitId: `${topic}-${p.partition}`,
            topic,
            partition: p.partition,
            nextOffset: this.options.start === 'latest' ? p.high : p.low,
            stopOffset: this.options.bounded ? p.high : null,
          })
        }
      }
      return splits
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }
}

/** An assignor that hands the only member of a private group exactly the partitions it wants. */
function fixedAssigner({ AssignerProtocol }: KafkaLibrary, wanted: () => Map<string, number[]>): PartitionAssigner {
  return () => ({
    name: 'WeirFixedAssigner',
    version: 1,
    async assign({ members }) {
      const assignment: Record<string, number[]> = {}
      for (const [topic, partitions] of wanted()) assignment[topic] = partitions
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: i === 0 ? assignment : {}, userData: Buffer.alloc(0) }),
      }))
    },
    protocol({ topics }) {
      return { name: 'WeirFixedAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }
    },
  })
}

/** Reads its partitions through one consumer into one bounded buffer. */
export class KafkaReader<T> extends BufferedSplitReader<T, KafkaPartitionSplit, string> {
  private consumer: Consumer | undefined
  private starting: Promise<void> | undefined
  private restartQueued = false
  private readonly where: string
  private readonly deserialize: (record: KafkaRecord) => T

  constructor(
    private readonly options: KafkaSourceOptions<T>,
    private readonly retry: RetrySettings,
    private readonly subtask: number,
    private readonly onClose: (r: KafkaReader<T>) => void,
  ) {
    super(Math.max(512, options.bufferSize ?? 4096), 256)
    this.where = `Kafka source (subtask ${subtask}, brokers ${describeBrokers(options)})`
    this.deserialize = options.deserialize ?? ((r) => JSON.parse(r.value ? decoder.decode(r.value) : 'null') as T)
  }

  protected copySplit(split: KafkaPartitionSplit): KafkaPartitionSplit {
    return { ...split }
  }

  protected advance(split: KafkaPartitionSplit, position: string): void {
    split.nextOffset = position
  }

  protected startSplit(split: KafkaPartitionSplit): void {
    if (split.stopOffset !== null && BigInt(split.nextOffset) >= BigInt(split.stopOffset)) {
      this.endSplit(split.splitId)
      return
    }
    // Splits arrive together: start (or restart, with the new set) once, after this turn.
    if (this.restartQueued) return
    this.restartQueued = true
    queueMicrotask(() => {
      this.restartQueued = false
      this.starting = (this.starting ?? Promise.resolve()).then(() => this.restart()).catch((error: unknown) => this.fail(error))
    })
  }

  /** The partitions still to read, by topic. */
  private wanted(): Map<string, number[]> {
    const byTopic = new Map<string, number[]>()
    for (const s of this.splits.values()) byTopic.set(s.topic, [...(byTopic.get(s.topic) ?? []), s.partition])
    return byTopic
  }

  private async restart(): Promise<void> {
    if (this.consumer) await this.consumer.disconnect().catch(() => {})
    if (this.closed || this.splits.size === 0) return
    const { kafka, lib } = await kafkaClient(this.options)
    const consumer = kafka.consumer({
      groupId: `weir-reader-${this.subtask}-${Math.random().toString(36).slice(2)}`,
      partitionAssigners: [fixedAssigner(lib, () => this.wanted())],
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: this.retry.initialDelayMs, maxRetryTime: this.retry.maxDelayMs },
    })
    this.consumer = consumer
    consumer.on(consumer.events.CONNECT, () => this.metrics.reconnects++)
    await withRetry(() => consumer.connect(), {
      settings: this.retry,
      isTransient: isTransientKafkaError,
      describe: (error) => new WeirError('CONNECTOR_UNREACHABLE', `${this.where}: cannot connect: ${messageOf(error)}`, { cause: error }),
      signal: this.closing.signal,
    })
    await consumer.subscribe({ topics: [...this.wanted().keys()], fromBeginning: true })
    // Offsets come from the splits; nothing is committed to the group.
    const cursors = new Map<string, bigint>()
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        const id = `${batch.topic}-${batch.partition}`
        const split = this.splits.get(id)
        if (!split) return
        const stop = split.stopOffset === null ? undefined : BigInt(split.stopOffset)
        for (const message of batch.messages) {
          if (!isRunning() || isStale() || this.closed) return
          const offset = BigInt(message.offset)
          // A batch may start before the seek position after a seek; skip what was read already.
          if (offset < (cursors.get(id) ?? BigInt(split.nextOffset))) continue
          if (stop !== undefined && offset >= stop) break
          // The group expects heartbeats while the buffer is full and this handler waits.
          while (this.buffered >= this.capacity && !this.closed) {
            await Promise.race([this.waitForSpace(1), sleep(3000)])
            await heartbeat()
          }
          const record: KafkaRecord = {
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            timestamp: Number(message.timestamp),
            headers: message.headers ?? {},
          }
          let value: T
          try {
            value = this.deserialize(record)
          } catch (cause) {
            this.fail(new WeirError('DESERIALIZATION_FAILED', `${this.where}: cannot deserialize offset ${message.offset} of ${id}: ${messageOf(cause)}`, { cause }))
            return
          }
          const next = offset + 1n
          cursors.set(id, next)
          this.offerNow(id, value, record.timestamp, next.toString(), (message.value?.length ?? 0) + (message.key?.length ?? 0))
          if (stop !== undefined && next >= stop) {
            this.endSplit(id)
            break
          }
        }
        await heartbeat()
      },
    })
    for (const s of this.splits.values()) consumer.seek({ topic: s.topic, partition: s.partition, offset: s.nextOffset })
  }

  async close(): Promise<void> {
    this.releaseWaiters()
    await this.starting?.catch(() => {})
    await this.consumer?.disconnect().catch(() => {})
    this.onClose(this)
  }
}
