import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import pg from 'pg'
import { PostgresSink, RedisStreamsSink, RedisStreamsSource, StreamEnvironment, WatermarkStrategy, WeirError, fixedDelay, numberSource, type RedisStreamsCommittable } from '../../../src/index.ts'
import { PG, REDIS, ensureServices, pollReader, readerContext, restartRedis, sleep, uniqueName, waitFor, withServices, writerContext } from './services.ts'

let redis: Redis
const keys: string[] = []

before(async () => {
  await ensureServices()
  redis = new Redis({ ...REDIS, maxRetriesPerRequest: null })
  redis.on('error', () => {})
})

after(async () => {
  await ensureServices()
  if (keys.length > 0) await redis.del(...keys).catch(() => {})
  const markers = await redis.keys('weir:test-commit:*').catch(() => [])
  if (markers.length > 0) await redis.del(...markers)
  redis.disconnect()
})

function newKey(): string {
  const key = uniqueName('weir:test')
  keys.push(key)
  return key
}

async function add(key: string, values: readonly unknown[]): Promise<string[]> {
  const pipeline = redis.pipeline()
  for (const v of values) pipeline.xadd(key, '*', 'data', JSON.stringify(v))
  const results = await pipeline.exec()
  return (results ?? []).map(([, id]) => id as string)
}

const parse = (entry: { fields: Record<string, string> }): { n: number } => JSON.parse(entry.fields.data) as { n: number }

test('source: every stream is read with id timestamps, and a restored split resumes after its last id', () =>
  withServices({ redis: 'shared' }, async () => {
    const [a, b] = [newKey(), newKey()]
    const idsA = await add(a, Array.from({ length: 700 }, (_, n) => ({ n })))
    await add(b, Array.from({ length: 300 }, (_, n) => ({ n: 1000 + n })))
    const source = new RedisStreamsSource({ ...REDIS, streams: [a, b], deserialize: parse, count: 100, bufferSize: 200 })
    const splits = [a, b].map((stream) => ({ splitId: stream, stream, lastId: '0-0', startLatest: false, stopId: undefined, validated: false }))
    const first = source.createReader(readerContext)
    first.addSplits(splits)
    const { records } = await pollReader(first, 500)
    const checkpoint = first.snapshotState(1)
    await first.close()
    const second = source.createReader(readerContext)
    second.addSplits(checkpoint)
    const rest = await pollReader(second, 1000 - records.length)
    await second.close()
    const all = [...records, ...rest.records]
    for (const [key, from, count] of [[a, 0, 700], [b, 1000, 300]] as const) {
      assert.deepEqual(
        all.filter((r) => r.split === key).map((r) => r.value.n),
        Array.from({ length: count }, (_, i) => from + i),
        `stream ${key}`,
      )
    }
    const firstOfA = all.find((r) => r.split === a)!
    assert.equal(firstOfA.timestamp, Number(idsA[0].split('-')[0]), 'event time is the id time')
    assert.equal(source.metrics().recordsOut, 1000)
  }))

test('configuration errors say what is wrong and where', () =>
  withServices({ redis: 'shared' }, async () => {
    assert.throws(() => new RedisStreamsSource({ ...REDIS, streams: [] }), /streams/)
    assert.throws(() => new RedisStreamsSource({ ...REDIS, streams: ['s'], start: { after: 'yesterday' } }), (e: unknown) => e instanceof WeirError && e.code === 'INVALID_CONFIG')
    assert.throws(() => new RedisStreamsSink({ url: 'http://x', stream: 's' }), /not a redis:\/\/ URL/)
    const run = async (source: RedisStreamsSource): Promise<void> => {
      const env = StreamEnvironment.create({ parallelism: 1 })
      env.fromSource(source, WatermarkStrategy.noWatermarks(), 'redis').sinkTo({ createWriter: () => ({ write() {}, flush() {}, close() {} }) })
      await env.execute('bad-config', { log: () => {} })
    }
    const missing = uniqueName('weir:missing')
    await assert.rejects(run(new RedisStreamsSource({ ...REDIS, streams: [missing], bounded: true })), (e: unknown) => {
      assert.ok(e instanceof WeirError && e.code === 'UNKNOWN_STREAM', String(e))
      assert.match(e.message, new RegExp(`stream '${missing}' does not exist`))
      assert.match(e.message, /127\.0\.0\.1:6379/)
      return true
    })
    const notAStream = newKey()
    await redis.set(notAStream, 'x')
    await assert.rejects(run(new RedisStreamsSource({ ...REDIS, streams: [notAStream] })), /holds a string, not a stream/)
    await assert.rejects(run(new RedisStreamsSource({ ...REDIS, port: 6999, streams: ['s'], retry: { giveUpAfterMs: 300 } })), (e: unknown) => {
      assert.ok(e instanceof WeirError && e.code === 'CONNECTOR_UNREACHABLE', String(e))
      assert.match(e.message, /127\.0\.0\.1:6999/)
      return true
    })
    await assert.rejects(run(new RedisStreamsSource({ ...REDIS, username: uniqueName('nobody'), password: 'wrong', streams: ['s'] })), (e: unknown) => e instanceof WeirError && e.code === 'CONNECTOR_AUTH_FAILED')
  }))

test('sink: a re-committed checkpoint adds nothing; at-least-once adds as it goes', () =>
  withServices({ redis: 'shared' }, async () => {
    const out = newKey()
    const sink = new RedisStreamsSink<{ n: number }>({ ...REDIS, stream: out, markerPrefix: 'weir:test-commit:' })
    const writer = sink.createWriter(writerContext(uniqueName('job')))
    for (let n = 0; n < 300; n++) writer.write({ n }, undefined)
    await writer.flush(false)
    const committables = (await writer.prepareCommit!(3)) as RedisStreamsCommittable[]
    assert.equal(await redis.xlen(out), 0, 'nothing is added before the commit')
    const committer = sink.createCommitter()
    await committer.commit(committables)
    await committer.commit(committables)
    const another = sink.createCommitter()
    await another.commit(committables)
    await Promise.all([writer.close(), committer.close?.(), another.close?.()])
    const entries = await redis.xrange(out, '-', '+')
    assert.deepEqual(
      entries.map(([, fields]) => JSON.parse(fields[1]) as { n: number }),
      Array.from({ length: 300 }, (_, n) => ({ n })),
    )

    const loose = newKey()
    const alo = new RedisStreamsSink<{ n: number }>({ ...REDIS, stream: loose, guarantee: 'at-least-once', batchSize: 50, toFields: (v) => ({ n: v.n }) })
    const w = alo.createWriter(writerContext('job'))
    for (let n = 0; n < 120; n++) w.write({ n }, undefined)
    await w.flush(false)
    await w.close()
    assert.equal(await redis.xlen(loose), 120)
    assert.equal(alo.metrics().recordsOut, 120)
  }))

test('Redis restarts mid-job: both jobs recover, a source into PostgreSQL and a sink from a generator', () =>
  withServices({ postgres: 'shared', redis: 'exclusive' }, async () => {
    const input = newKey()
    const output = newKey()
    const db = new pg.Client(PG)
    await db.connect()
    const table = uniqueName('weir_redis_restart')
    await db.query(`CREATE TABLE ${table} (n integer NOT NULL)`)
    try {
      await add(input, Array.from({ length: 500 }, (_, n) => ({ n })))
      // Job 1: Redis Streams -> PostgreSQL (exactly-once), continuous.
      const readEnv = StreamEnvironment.create({ parallelism: 1 })
      readEnv.enableCheckpointing(30)
      readEnv.setRestartStrategy(fixedDelay(20, 100))
      const source = new RedisStreamsSource({ ...REDIS, streams: [input], deserialize: parse, blockMs: 200, retry: { giveUpAfterMs: 20_000 } })
      readEnv.fromSource(source, WatermarkStrategy.noWatermarks(), 'redis').sinkTo(new PostgresSink<{ n: number }>({ connection: PG, table, columns: ['n'] }), 'pg')
      const reading = readEnv.executeAsync('redis-to-pg', { log: () => {} })
      const readEnd = reading.result.then(
        () => 'ended',
        (e: unknown) => String(e),
      )
      // Job 2: a slow generator -> Redis Streams (exactly-once), bounded.
      const writeEnv = StreamEnvironment.create({ parallelism: 1 })
      writeEnv.enableCheckpointing(30)
      writeEnv.setRestartStrategy(fixedDelay(20, 100))
      const sink = new RedisStreamsSink<number>({ ...REDIS, stream: output, markerPrefix: 'weir:test-commit:', toFields: (n) => ({ n }), retry: { giveUpAfterMs: 20_000 } })
      const total = 1200
      writeEnv
        .fromSource(numberSource(1, total, (n) => n, { splits: 1, batch: 8 }), WatermarkStrategy.noWatermarks(), 'numbers')
        .map((n) => {
          const until = performance.now() + 2
          while (performance.now() < until) {
            // spin: the job must outlast the restart
          }
          return n
        })
        .sinkTo(sink, 'redis')
      const writingJob = writeEnv.executeAsync('gen-to-redis', { log: () => {} })
      const writing = writingJob.result
      try {
        const count = async (): Promise<number> => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n
        await waitFor(async () => (await count()) === 500, 'the first entries in PostgreSQL')
        await waitFor(async () => (await redis.xlen(output)) > 0, 'a first commit to the output stream')
        await restartRedis(300)
        // The server kept nothing: the input stream starts over, with ids after the old ones.
        await sleep(5)
        await add(input, Array.from({ length: 500 }, (_, n) => ({ n: 500 + n })))
        await waitFor(async () => (await count()) >= 1000, 'the entries added after the restart in PostgreSQL', 30_000)
        await writing
      } finally {
        reading.cancel()
        writingJob.cancel()
        await writing.catch(() => {})
        assert.match(await readEnd, /cancelled/)
      }
      const rows = (await db.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`)).rows.map((r) => r.n)
      assert.deepEqual(rows, Array.from({ length: 1000 }, (_, n) => n))
      // The output stream lost what was committed before the restart (the server keeps nothing);
      // what was committed after it is there once each, up to the last record.
      const written = (await redis.xrange(output, '-', '+')).map(([, f]) => Number(f[1]))
      assert.equal(new Set(written).size, written.length, 'no record added twice')
      assert.equal(written.at(-1), total)
      assert.deepEqual(written, Array.from({ length: written.length }, (_, i) => total - written.length + 1 + i))
      assert.ok(source.metrics().retries + source.metrics().reconnects > 0, 'the source saw the server go away')
    } finally {
      await db.query(`DROP TABLE IF EXISTS ${table}`)
      await db.end()
    }
  }))
