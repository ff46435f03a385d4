import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { JetStreamSink, JetStreamSource, StreamEnvironment, WatermarkStrategy, WeirError, fixedDelay, type JetStreamCommittable, type JetStreamSplit } from '../../../src/index.ts'
import { NATS_SERVERS, ensureServices, pollReader, readJetStream, readerContext, restartNats, sleep, uniqueName, waitFor, withServices, writerContext } from './services.ts'

let nc: NatsConnection
let jsm: JetStreamManager
const streams: string[] = []

before(async () => {
  await ensureServices()
  nc = await connect({ servers: NATS_SERVERS, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  jsm = await jetstreamManager(nc)
})

after(async () => {
  await ensureServices()
  for (const s of streams) await jsm.streams.delete(s).catch(() => {})
  await nc?.close()
})

async function newStream(subjects = 2): Promise<string> {
  const name = uniqueName('WEIR_T')
  streams.push(name)
  await jsm.streams.add({ name, subjects: Array.from({ length: subjects }, (_, i) => `${name}.s${i}`) })
  return name
}

/**
 * Publishes with acknowledgements, retrying what failed: right after a server restart, messages sent
 * on a connection that has not noticed yet would be lost. Ids make a retry harmless.
 */
async function publish(subject: string, values: readonly unknown[]): Promise<void> {
  const js = jetstream(nc, { timeout: 2000 })
  const prefix = uniqueName('msg')
  let pending = values.map((v, i) => ({ v, i }))
  await waitFor(async () => {
    const failed: typeof pending = []
    await Promise.all(pending.map((p) => js.publish(subject, JSON.stringify(p.v), { msgID: `${prefix}-${p.i}` }).catch(() => failed.push(p))))
    pending = failed
    return pending.length === 0
  }, `publishing to ${subject}`)
}

async function messages(stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages
}

/** Every payload of a stream, in order. */
async function payloads(stream: string): Promise<unknown[]> {
  return (await readJetStream(nc, stream)).map((m) => JSON.parse(m) as unknown)
}

test('source: every split is read with the message timestamps, and a restored split resumes at its checkpointed sequence', () =>
  withServices({ nats: 'shared' }, async () => {
    const stream = await newStream()
    const before = Date.now()
    await publish(`${stream}.s0`, Array.from({ length: 300 }, (_, i) => ({ n: i })))
    await publish(`${stream}.s1`, Array.from({ length: 200 }, (_, i) => ({ n: 1000 + i })))
    await waitFor(async () => (await messages(stream)) === 500, 'the stream to hold 500 messages')

    const source = new JetStreamSource<{ n: number }>({ servers: NATS_SERVERS, streams: [{ stream, filter: `${stream}.s0` }, { stream, filter: `${stream}.s1` }], fetchBatch: 64, bufferSize: 128 })
    const splits: JetStreamSplit[] = [`${stream}:${stream}.s0`, `${stream}:${stream}.s1`].map((splitId, i) => ({
      splitId,
      stream,
      filter: `${stream}.s${i}`,
      nextSequence: 0,
      stopSequence: 0,
      startTime: undefined,
      validated: false,
    }))
    const first = source.createReader(readerContext)
    first.addSplits(splits)
    const { records } = await pollReader(first, 250)
    const checkpoint = first.snapshotState(1)
    await first.close()
    for (const r of records) assert.ok(r.timestamp! >= before - 1000 && r.timestamp! <= Date.now(), `timestamp ${r.timestamp} is the server's time of the message`)

    const second = source.createReader(readerContext)
    second.addSplits(checkpoint)
    const rest = await pollReader(second, 500 - records.length)
    await second.close()
    const all = [...records, ...rest.records]
    // Each split's records, across the two readers, are exactly its messages, in order.
    for (const [filter, from, count] of [[`${stream}.s0`, 0, 300], [`${stream}.s1`, 1000, 200]] as const) {
      const seen = all.filter((r) => r.split === `${stream}:${filter}`).map((r) => r.value.n)
      assert.deepEqual(seen, Array.from({ length: count }, (_, i) => from + i), `split ${filter}`)
    }
    assert.equal(source.metrics().recordsOut, 500)
    assert.ok(source.metrics().bytesIn > 0)
  }))

test('source: configuration errors name the stream or the server', () =>
  withServices({ nats: 'shared' }, async () => {
    assert.throws(() => new JetStreamSource({ servers: NATS_SERVERS, streams: [] }), /streams/)
    assert.throws(() => new JetStreamSource({ servers: NATS_SERVERS, streams: ['bad.name'] }), (e: unknown) => e instanceof WeirError && e.code === 'INVALID_CONFIG')
    assert.throws(() => new JetStreamSource({ servers: [], streams: ['S'] }), /servers/)

    const run = async (source: JetStreamSource<unknown>): Promise<void> => {
      const env = StreamEnvironment.create({ parallelism: 1 })
      env.fromSource(source, WatermarkStrategy.noWatermarks(), 'js').sinkTo({ createWriter: () => ({ write() {}, flush() {}, close() {} }) })
      await env.execute('bad-config', { log: () => {} })
    }
    const missing = uniqueName('NO_SUCH_STREAM')
    await assert.rejects(run(new JetStreamSource({ servers: NATS_SERVERS, streams: [missing], bounded: true })), (e: unknown) => {
      assert.ok(e instanceof WeirError && e.code === 'UNKNOWN_STREAM', String(e))
      assert.match(e.message, new RegExp(`stream '${missing}' does not exist`))
      assert.match(e.message, /127\.0\.0\.1:4222/)
      return true
    })
    await assert.rejects(run(new JetStreamSource({ servers: '127.0.0.1:4999', streams: ['S'], retry: { giveUpAfterMs: 300 } })), (e: unknown) => {
      assert.ok(e instanceof WeirError && e.code === 'CONNECTOR_UNREACHABLE', String(e))
      assert.match(e.message, /127\.0\.0\.1:4999/)
      return true
    })
  }))

test('sink: a re-committed checkpoint is dropped by the duplicate window; an unknown subject is refused', () =>
  withServices({ nats: 'shared' }, async () => {
    const stream = await newStream(1)
    const sink = new JetStreamSink<{ n: number }>({ servers: NATS_SERVERS, subject: `${stream}.s0` })
    const writer = sink.createWriter(writerContext(uniqueName('job')))
    for (let n = 0; n < 100; n++) writer.write({ n }, undefined)
    await writer.flush(false)
    const committables = (await writer.prepareCommit!(1)) as JetStreamCommittable[]
    assert.equal(await messages(stream), 0, 'nothing is published before the commit')
    const committer = sink.createCommitter()
    await committer.commit(committables)
    await committer.commit(committables)
    // A committer of a later attempt, which knows nothing of the first one's commit.
    const another = sink.createCommitter()
    await another.commit(committables)
    await another.close?.()
    assert.equal(await messages(stream), 100)
    assert.deepEqual(await payloads(stream), Array.from({ length: 100 }, (_, n) => ({ n })))
    assert.equal(sink.metrics().recordsOut, 100, 'duplicates are not counted as written')
    await writer.close()
    await committer.close?.()

    const bad = new JetStreamSink({ servers: NATS_SERVERS, subject: `${uniqueName('nowhere')}.x` })
    const badWriter = bad.createWriter(writerContext('job'))
    await assert.rejects(async () => badWriter.flush(false), (e: unknown) => e instanceof WeirError && e.code === 'UNKNOWN_STREAM' && /no JetStream stream captures subject/.test(e.message))
    await badWriter.close()
    assert.throws(() => new JetStreamSink({ servers: NATS_SERVERS, subject: 'a.*' }), /literal subject/)
  }))

test('NATS restarts mid-job: the job recovers and the output is exactly the input', () =>
  withServices({ nats: 'exclusive' }, async () => {
    const input = await newStream(1)
    const output = await newStream(1)
    const total = 2000
    await publish(`${input}.s0`, Array.from({ length: total / 2 }, (_, i) => ({ n: i })))
    const env = StreamEnvironment.create({ parallelism: 1 })
    env.enableCheckpointing(50)
    env.setRestartStrategy(fixedDelay(20, 100))
    const source = new JetStreamSource<{ n: number }>({ servers: NATS_SERVERS, streams: [input], fetchExpiresMs: 1000, retry: { giveUpAfterMs: 20_000 } })
    const sink = new JetStreamSink<{ n: number }>({ servers: NATS_SERVERS, subject: `${output}.s0`, retry: { giveUpAfterMs: 20_000 } })
    env.fromSource(source, WatermarkStrategy.noWatermarks(), 'in').map((v) => ({ n: v.n * 2 })).sinkTo(sink, 'out')
    const logs: string[] = []
    const job = env.executeAsync('nats-restart', { log: (m) => logs.push(m) })
    const failed = job.result.then(
      () => new Error('the job ended'),
      (e: unknown) => e,
    )
    try {
      await waitFor(async () => (await messages(output)) === total / 2, 'the first half to be committed')
      await restartNats(300, input)
      await publish(`${input}.s0`, Array.from({ length: total / 2 }, (_, i) => ({ n: total / 2 + i })))
      await waitFor(async () => (await messages(output)) >= total, 'the second half to be committed', 30_000)
      await sleep(200)
    } finally {
      job.cancel()
      const end = await failed
      assert.match(String(end), /cancelled/, `the job failed: ${String(end)}; log: ${logs.join(' | ')}`)
    }
    const out = (await payloads(output)) as { n: number }[]
    assert.deepEqual(
      out.map((v) => v.n).sort((a, b) => a - b),
      Array.from({ length: total }, (_, i) => i * 2),
    )
    assert.ok(source.metrics().reconnects + sink.metrics().reconnects > 0 || logs.length > 0, 'the restart was noticed')
  }))
