import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { PostgresSink, PostgresTableSource, StreamEnvironment, WatermarkStrategy, WeirError, fixedDelay, numberSource, type PostgresCommittable, type PostgresKeyRangeSplit } from '../../../src/index.ts'
import { PG, ensureServices, pollReader, readerContext, restartPostgres, uniqueName, waitFor, withServices, writerContext } from './services.ts'

let db: pg.Client
const tables: string[] = []

before(async () => {
  await ensureServices()
  db = new pg.Client(PG)
  // The restart test cuts this connection too; later tests use their own.
  db.on('error', () => {})
  await db.connect()
})

after(async () => {
  await ensureServices()
  const client = new pg.Client(PG)
  await client.connect()
  for (const t of tables) await client.query(`DROP TABLE IF EXISTS ${t}`)
  await client.end()
  await db?.end().catch(() => {})
})

async function newTable(columns: string): Promise<string> {
  const name = uniqueName('weir_t')
  tables.push(name)
  await db.query(`CREATE TABLE ${name} (${columns})`)
  return name
}

/** A client that reconnects: the restart test cuts every connection. */
async function query<R extends pg.QueryResultRow>(sql: string): Promise<R[]> {
  const client = new pg.Client(PG)
  await client.connect()
  try {
    return (await client.query<R>(sql)).rows
  } finally {
    await client.end()
  }
}

test('sink: a re-committed checkpoint is written once; upserts keep the last row per key', () =>
  withServices({ postgres: 'shared' }, async () => {
    const table = await newTable('id integer, name text')
    const sink = new PostgresSink<{ id: number; name: string }>({ connection: PG, table, columns: ['id', 'name'] })
    const writer = sink.createWriter(writerContext(uniqueName('job')))
    for (let id = 0; id < 500; id++) writer.write({ id, name: `n${id}` }, undefined)
    await writer.flush(false)
    const committables = (await writer.prepareCommit!(7)) as PostgresCommittable[]
    assert.equal((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 0, 'nothing is written before the commit')
    const committer = sink.createCommitter()
    await committer.commit(committables)
    await committer.commit(committables)
    const another = sink.createCommitter()
    await another.commit(committables)
    await Promise.all([committer.close?.(), another.close?.(), writer.close()])
    const rows = (await db.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM ${table}`)).rows[0]
    assert.deepEqual(rows, { n: 500, d: 500 })
    const marker = await db.query(`SELECT rows FROM weir_sink_commits WHERE job_id = $1 AND checkpoint_id = 7`, [committables[0].jobId])
    assert.deepEqual(marker.rows, [{ rows: 500 }])

    const keyed = await newTable('id integer PRIMARY KEY, name text, n integer')
    for (const guarantee of ['exactly-once', 'at-least-once'] as const) {
      const upsert = new PostgresSink<[number, string, number]>({ connection: PG, table: keyed, columns: ['id', 'name', 'n'], mode: 'upsert', key: ['id'], guarantee, batchSize: 64 })
      const w = upsert.createWriter(writerContext(uniqueName('job')))
      // 1000 writes of 100 keys: every batch and every checkpoint has the same key many times.
      for (let i = 0; i < 1000; i++) w.write([i % 100, `${guarantee}-${i}`, i], undefined)
      await w.flush(false)
      const c = upsert.createCommitter()
      await c.commit((await w.prepareCommit!(1)) as PostgresCommittable[])
      await Promise.all([c.close?.(), w.close()])
      const result = await db.query<{ id: number; name: string; n: number }>(`SELECT * FROM ${keyed} ORDER BY id`)
      assert.equal(result.rowCount, 100)
      assert.deepEqual(result.rows[42], { id: 42, name: `${guarantee}-942`, n: 942 })
    }
  }))

test('configuration errors say what is wrong and where', () =>
  withServices({ postgres: 'shared' }, async () => {
    const table = await newTable('id integer PRIMARY KEY, name text')
    assert.throws(() => new PostgresSink({ connection: PG, table, columns: ['id'], mode: 'upsert' }), /upsert mode needs 'key'/)
    assert.throws(() => new PostgresSink({ connection: PG, table: 'bad name;', columns: ['id'] }), (e: unknown) => e instanceof WeirError && e.code === 'INVALID_CONFIG')
    assert.throws(() => new PostgresTableSource({ connection: PG, table, keyColumn: 'id', splits: 0 }), /splits must be a positive integer/)

    const flushError = async (sink: PostgresSink<unknown>): Promise<WeirError> => {
      const writer = sink.createWriter(writerContext('job'))
      try {
        await writer.flush(false)
      } catch (error) {
        assert.ok(error instanceof WeirError, String(error))
        return error
      } finally {
        await writer.close()
      }
      assert.fail('the writer accepted a bad configuration')
    }
    const missing = uniqueName('no_such_table')
    let e = await flushError(new PostgresSink({ connection: PG, table: missing, columns: ['id'] }))
    assert.equal(e.code, 'UNKNOWN_TABLE')
    assert.match(e.message, new RegExp(`${missing}.*does not exist`))
    assert.match(e.message, /127\.0\.0\.1:5432\/test/)
    e = await flushError(new PostgresSink({ connection: PG, table, columns: ['id', 'nope'] }))
    assert.match(e.message, /column "nope"/)
    e = await flushError(new PostgresSink({ connection: PG, table, columns: ['id', 'name'], mode: 'upsert', key: ['name'] }))
    assert.match(e.message, /no unique or exclusion constraint/)
    e = await flushError(new PostgresSink({ connection: { ...PG, user: uniqueName('nobody') }, table, columns: ['id'] }))
    assert.equal(e.code, 'CONNECTOR_AUTH_FAILED')
    e = await flushError(new PostgresSink({ connection: { ...PG, port: 5999 }, table, columns: ['id'], retry: { giveUpAfterMs: 300 } }))
    assert.equal(e.code, 'CONNECTOR_UNREACHABLE')
    assert.match(e.message, /127\.0\.0\.1:5999/)

    const env = StreamEnvironment.create({ parallelism: 2 })
    env.fromSource(new PostgresTableSource({ connection: PG, table: missing, keyColumn: 'id' }), WatermarkStrategy.noWatermarks(), 'pg').sinkTo({ createWriter: () => ({ write() {}, flush() {}, close() {} }) })
    await assert.rejects(env.execute('bad-source', { log: () => {} }), (error: unknown) => error instanceof WeirError && error.code === 'UNKNOWN_TABLE' && error.message.includes(missing))
    const noKey = await newTable('id integer, name text')
    const env2 = StreamEnvironment.create({ parallelism: 1 })
    env2.fromSource(new PostgresTableSource({ connection: PG, table: noKey, keyColumn: 'id' }), WatermarkStrategy.noWatermarks(), 'pg').sinkTo({ createWriter: () => ({ write() {}, flush() {}, close() {} }) })
    await assert.rejects(env2.execute('no-key', { log: () => {} }), /must be NOT NULL with a unique index/)
  }))

test('table source: key ranges cover every row once, and a restored split resumes after its last key', () =>
  withServices({ postgres: 'shared' }, async () => {
    const table = await newTable('id bigint PRIMARY KEY, payload text')
    await db.query(`INSERT INTO ${table} SELECT g * 3, 'p' || g FROM generate_series(1, 5000) g`)
    const source = new PostgresTableSource<{ id: string; payload: string }>({ connection: PG, table, keyColumn: 'id', splits: 3, fetchSize: 300 })
    const seen: string[] = []
    const env = StreamEnvironment.create({ parallelism: 2 })
    env.fromSource(source, WatermarkStrategy.noWatermarks(), 'pg').sinkTo({ createWriter: () => ({ write: (r: { id: string }) => void seen.push(r.id), flush() {}, close() {} }) })
    await env.execute('table-source')
    assert.equal(seen.length, 5000)
    assert.equal(new Set(seen).size, 5000)
    assert.equal(source.metrics().recordsOut, 5000)

    // One split read halfway, checkpointed, and resumed by a new reader.
    const split: PostgresKeyRangeSplit = { splitId: `${table}#x`, lower: '300', upper: '9000', after: null }
    const first = source.createReader(readerContext)
    first.addSplits([split])
    const { records } = await pollReader(first, 400)
    const [state] = first.snapshotState(1)
    await first.close()
    assert.equal(state.after, records.at(-1)!.value.id)
    const second = source.createReader(readerContext)
    second.addSplits([state])
    second.notifyNoMoreSplits()
    const rest = await pollReader(second, Number.MAX_SAFE_INTEGER)
    await second.close()
    assert.equal(rest.status, 'end')
    const ids = [...records, ...rest.records].map((r) => Number(r.value.id))
    assert.deepEqual(ids, Array.from({ length: 2900 }, (_, i) => 303 + i * 3))
  }))

test('PostgreSQL restarts mid-job: the job recovers and every row is written exactly once', () =>
  withServices({ postgres: 'exclusive' }, async () => {
    const table = await newTable('id integer NOT NULL')
    const total = 1500
    const env = StreamEnvironment.create({ parallelism: 1 })
    env.enableCheckpointing(30)
    env.setRestartStrategy(fixedDelay(20, 100))
    const sink = new PostgresSink<number>({ connection: PG, table, columns: ['id'], toRow: (n) => [n], retry: { giveUpAfterMs: 20_000 } })
    env
      .fromSource(numberSource(1, total, (n) => n, { splits: 1, batch: 16 }), WatermarkStrategy.noWatermarks(), 'numbers')
      .map((n) => {
        // Slow enough that the job is still running when the server goes away.
        const until = performance.now() + 1
        while (performance.now() < until) {
          // spin
        }
        return n
      })
      .sinkTo(sink, 'pg')
    const job = env.executeAsync('pg-restart', { log: () => {} })
    try {
      await waitFor(async () => (await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0].n > 0, 'a first commit')
      await restartPostgres(300)
    } catch (error) {
      job.cancel()
      await job.result.catch(() => {})
      throw error
    }
    await job.result
    const rows = await query<{ n: number; d: number; lo: number; hi: number }>(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, min(id) AS lo, max(id) AS hi FROM ${table}`)
    assert.deepEqual(rows[0], { n: total, d: total, lo: 1, hi: total })
    assert.ok(sink.metrics().retries + sink.metrics().reconnects > 0, 'the sink saw the server go away')
  }))
