import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Kafka, logLevel, type Admin } from 'kafkajs'
import { KafkaSink, KafkaSource, StreamEnvironment, WatermarkStrategy, WeirError, fixedDelay, type KafkaCommittable } from '../../../src/index.ts'
import { FailureInjector } from '../fault/failure-injector.ts'
import { describeDifference, expectedTotals, formatTotal, injectingSink, makeEvents, windowTotals, type Event, type WindowTotal } from './e2e-job.ts'
import { pollReader, readerContext, uniqueName, writerContext } from './services.ts'

const brokers = process.env.WEIR_KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean)
/** The suite needs a broker; this machine has none unless one is named. */
const skip = brokers && brokers.length > 0 ? false : 'WEIR_KAFKA_BROKERS is unset: no Kafka broker to test against (set it to host:port[,host:port] to run this suite)'

let kafka: Kafka
let admin: Admin
const topics: string[] = []

before(async () => {
  if (skip) return
  kafka = new Kafka({ brokers: brokers!, clientId: 'weir-test', logLevel: logLevel.NOTHING })
  admin = kafka.admin()
  await admin.connect()
})

after(async () => {
  if (skip) return
  await admin.deleteTopics({ topics }).catch(() => {})
  await admin.disconnect()
})

async function newTopic(partitions: number): Promise<string> {
  const topic = uniqueName('weir-test')
  topics.push(topic)
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true })
  return topic
}

async function produce(topic: string, values: readonly { partition: number; value: unknown }[]): Promise<void> {
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: values.map((v) => ({ partition: v.partition, value: JSON.stringify(v.value) })) })
  await producer.disconnect()
}

/** Every committed value of a topic (read_committed: aborted transactions are not seen). */
async function consumeAll(topic: string, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('weir-check'), readUncommitted: false })
  const out: string[] = []
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => resolve(), 15_000)
    consumer
      .run({
        eachMessage: async ({ message }) => {
          out.push(message.value!.toString())
          if (out.length >= expected) {
            // Wait a little for anything beyond the expected count (a duplicate would show up here).
            setTimeout(() => {
              clearTimeout(timer)
              resolve()
            }, 500)
          }
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  return out
}

test('source: partitions are read with Kafka timestamps, and a restored split resumes at its offset', { skip }, async () => {
  const topic = await newTopic(2)
  await produce(topic, Array.from({ length: 400 }, (_, n) => ({ partition: n % 2, value: { n } })))
  const source = new KafkaSource<{ n: number }>({ brokers: brokers!, topics: [topic], bounded: true })
  const splits = [0, 1].map((partition) => ({ splitId: `${topic}-${partition}`, topic, partition, nextOffset: '0', stopOffset: '200' }))
  const first = source.createReader(readerContext)
  first.addSplits(splits)
  const { records } = await pollReader(first, 150, 30_000)
  const checkpoint = first.snapshotState(1)
  await first.close()
  const second = source.createReader(readerContext)
  second.addSplits(checkpoint)
  second.notifyNoMoreSplits()
  const rest = await pollReader(second, Number.MAX_SAFE_INTEGER, 30_000)
  await second.close()
  for (const partition of [0, 1]) {
    const seen = [...records, ...rest.records].filter((r) => r.split === `${topic}-${partition}`).map((r) => r.value.n)
    assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => i * 2 + partition))
  }
  assert.ok(records.every((r) => typeof r.timestamp === 'number' && r.timestamp > 0))
})

test('configuration errors name the topic or the brokers', { skip }, async () => {
  assert.throws(() => new KafkaSource({ brokers: ['no-port'], topics: ['t'] }), /host:port/)
  const run = async (source: KafkaSource<unknown>): Promise<void> => {
    const env = StreamEnvironment.create({ parallelism: 1 })
    env.fromSource(source, WatermarkStrategy.noWatermarks(), 'kafka').sinkTo({ createWriter: () => ({ write() {}, flush() {}, close() {} }) })
    await env.execute('bad-config', { log: () => {} })
  }
  const missing = uniqueName('missing')
  await assert.rejects(run(new KafkaSource({ brokers: brokers!, topics: [missing], bounded: true })), (e: unknown) => e instanceof WeirError && e.code === 'UNKNOWN_TOPIC' && e.message.includes(missing))
  await assert.rejects(run(new KafkaSource({ brokers: ['127.0.0.1:1'], topics: ['t'], bounded: true, retry: { giveUpAfterMs: 500 } })), (e: unknown) => e instanceof WeirError && e.code === 'CONNECTOR_UNREACHABLE' && e.message.includes('127.0.0.1:1'))
})

test('sink: a re-committed checkpoint is written once', { skip }, async () => {
  const topic = await newTopic(1)
  const sink = new KafkaSink<{ n: number }>({ brokers: brokers!, topic })
  const writer = sink.createWriter(writerContext(uniqueName('job')))
  for (let n = 0; n < 100; n++) writer.write({ n }, undefined)
  await writer.flush(false)
  const committables = (await writer.prepareCommit!(5)) as KafkaCommittable[]
  const committer = sink.createCommitter()
  await committer.commit(committables)
  await committer.commit(committables)
  await Promise.all([writer.close(), committer.close?.()])
  assert.equal((await consumeAll(topic, 100)).length, 100)
})

test('Kafka -> keyed windowed aggregation -> Kafka: exactly-once under injected failures', { skip }, async () => {
  const events = makeEvents(3000)
  const input = await newTopic(2)
  await produce(input, events.map((e) => ({ partition: e.id % 2, value: e })))
  for (let seed = 1; seed <= 2; seed++) {
    const output = await newTopic(1)
    const injector = new FailureInjector(seed * 17, 3, events.length)
    const env = StreamEnvironment.create({ parallelism: 2, channelCapacity: 2, batchSize: 64 })
    env.enableCheckpointing(50)
    env.setRestartStrategy(fixedDelay(12, 0))
    const source = new KafkaSource<Event>({ brokers: brokers!, topics: [input], bounded: true })
    windowTotals(env.fromSource(source, WatermarkStrategy.forMonotonousTimestamps<Event>().withTimestampAssigner((e) => e.ts), 'events').uid('events'), injector)
      .sinkTo(injectingSink(new KafkaSink<WindowTotal>({ brokers: brokers!, topic: output }), injector), 'totals')
      .uid('totals')
    await env.execute(`kafka-e2e-${seed}`, { log: () => {} })
    const expected = expectedTotals(events)
    const lines = (await consumeAll(output, expected.length)).map((v) => formatTotal(JSON.parse(v) as WindowTotal)).sort()
    assert.deepEqual(lines, expected, `seed ${seed}: failures ${injector.fired.join(', ')}: ${describeDifference(lines, expected)}`)
  }
})
