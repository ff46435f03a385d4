import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import pg from 'pg'
import { JetStreamSink, JetStreamSource, PostgresSink, RedisStreamsSource, StreamEnvironment, WatermarkStrategy, fixedDelay } from '../../../src/index.ts'
import { FailureInjector } from '../fault/failure-injector.ts'
import { describeDifference, expectedTotals, formatTotal, injectingSink, makeEvents, windowTotals, type Event, type WindowTotal } from './e2e-job.ts'
import { NATS_SERVERS, PG, REDIS, ensureServices, readJetStream, uniqueName, waitFor, withServices } from './services.ts'

// Small inputs, a few seeds each: these jobs talk to real servers, and the suite has a time budget.
const EVENTS = 3000
const SEEDS = 3
const FAILURES_PER_RUN = 3
const events = makeEvents(EVENTS)
const expected = expectedTotals(events)

let nc: NatsConnection
let jsm: JetStreamManager

before(async () => {
  await ensureServices()
  nc = await connect({ servers: NATS_SERVERS })
  jsm = await jetstreamManager(nc)
})

after(async () => {
  await nc?.close()
  await ensureServices()
})

function environment(): StreamEnvironment {
  const env = StreamEnvironment.create({ parallelism: 2, channelCapacity: 2, batchSize: 64 })
  env.enableCheckpointing(20)
  env.setRestartStrategy(fixedDelay(12, 0))
  return env
}

const eventTime = (): WatermarkStrategy<Event> => WatermarkStrategy.forMonotonousTimestamps<Event>().withTimestampAssigner((e) => e.ts)

test('JetStream -> keyed windowed aggregation -> PostgreSQL: exactly-once under injected failures', () =>
  withServices({ nats: 'shared', postgres: 'shared' }, async () => {
    const stream = uniqueName('E2E_IN')
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] })
    const db = new pg.Client(PG)
    await db.connect()
    try {
      // Published without waiting for acks (faster), then counted on the server.
      for (const e of events) nc.publish(`${stream}.p${e.id % 2}`, JSON.stringify(e))
      await nc.flush()
      await waitFor(async () => (await jsm.streams.info(stream)).state.messages === EVENTS, 'the input stream to hold every event')
      let fired = 0
      for (let seed = 1; seed <= SEEDS; seed++) {
        const table = uniqueName('e2e_totals')
        await db.query(`CREATE TABLE ${table} (key text NOT NULL, window_start bigint NOT NULL, count integer NOT NULL, total bigint NOT NULL)`)
        try {
          const injector = new FailureInjector(seed * 11, FAILURES_PER_RUN, EVENTS)
          const env = environment()
          const source = new JetStreamSource<Event>({ servers: NATS_SERVERS, streams: [{ stream, filter: `${stream}.p0` }, { stream, filter: `${stream}.p1` }], bounded: true, fetchBatch: 256 })
          const sink = new PostgresSink<WindowTotal>({ connection: PG, table, columns: ['key', 'window_start', 'count', 'total'], toRow: (t) => [t.key, t.windowStart, t.count, t.total] })
          windowTotals(env.fromSource(source, eventTime(), 'events').uid('events'), injector)
            .sinkTo(injectingSink(sink, injector), 'totals')
            .uid('totals')
          const result = await env.execute(`e2e-jetstream-pg-${seed}`, { log: () => {} })
          const rows = await db.query<{ key: string; window_start: string; count: number; total: string }>(`SELECT * FROM ${table}`)
          const lines = rows.rows.map((r) => formatTotal({ key: r.key, windowStart: Number(r.window_start), count: r.count, total: Number(r.total) })).sort()
          assert.deepEqual(lines, expected, `seed ${seed} (failures ${injector.fired.join(', ')}, ${result.restarts} restarts): ${describeDifference(lines, expected)}`)
          fired += injector.fired.length
        } finally {
          await db.query(`DROP TABLE IF EXISTS ${table}`)
        }
      }
      assert.ok(fired >= SEEDS, `only ${fired} failures fired over ${SEEDS} seeds`)
    } finally {
      await db.end()
      await jsm.streams.delete(stream).catch(() => {})
    }
  }))

test('Redis Streams -> keyed windowed aggregation -> JetStream: exactly-once under injected failures', () =>
  withServices({ nats: 'shared', redis: 'shared' }, async () => {
    const prefix = uniqueName('weir:e2e')
    const keys = [`${prefix}:p0`, `${prefix}:p1`]
    const redis = new Redis(REDIS)
    const outputs: string[] = []
    try {
      const pipeline = redis.pipeline()
      for (const e of events) pipeline.xadd(keys[e.id % 2], '*', 'data', JSON.stringify(e))
      await pipeline.exec()
      let fired = 0
      for (let seed = 1; seed <= SEEDS; seed++) {
        const out = uniqueName('E2E_OUT')
        outputs.push(out)
        await jsm.streams.add({ name: out, subjects: [`${out}.totals`] })
        const injector = new FailureInjector(seed * 13, FAILURES_PER_RUN, EVENTS)
        const env = environment()
        const source = new RedisStreamsSource<Event>({ ...REDIS, streams: keys, bounded: true, count: 256, deserialize: (entry) => JSON.parse(entry.fields.data) as Event })
        const sink = new JetStreamSink<WindowTotal>({ servers: NATS_SERVERS, subject: `${out}.totals` })
        windowTotals(env.fromSource(source, eventTime(), 'events').uid('events'), injector)
          .sinkTo(injectingSink(sink, injector), 'totals')
          .uid('totals')
        const result = await env.execute(`e2e-redis-jetstream-${seed}`, { log: () => {} })
        const lines = (await readJetStream(nc, out)).map((m) => formatTotal(JSON.parse(m) as WindowTotal)).sort()
        assert.deepEqual(lines, expected, `seed ${seed} (failures ${injector.fired.join(', ')}, ${result.restarts} restarts): ${describeDifference(lines, expected)}`)
        fired += injector.fired.length
      }
      assert.ok(fired >= SEEDS, `only ${fired} failures fired over ${SEEDS} seeds`)
    } finally {
      await redis.del(...keys).catch(() => {})
      redis.disconnect()
      for (const out of outputs) await jsm.streams.delete(out).catch(() => {})
    }
  }))
