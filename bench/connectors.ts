/**
 * Connector throughput: for each service, records per second into a job (source -> discard) and out
 * of one (generator -> sink, exactly-once, checkpoints every 100 ms), printed beside the service's own
 * client doing a plain loop of the same reads or writes in the same run, and their ratio (engine /
 * client). Needs the machine's PostgreSQL, Redis and NATS.
 *
 *   node --import tsx bench/connectors.ts [--records=50000] [--only=jetstream,postgres,redis]
 */
import { fileURLToPath } from 'node:url'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import pg from 'pg'
import {
  JetStreamSink,
  JetStreamSource,
  PostgresSink,
  PostgresTableSource,
  RedisStreamsSink,
  RedisStreamsSource,
  StreamEnvironment,
  WatermarkStrategy,
  discardSink,
  numberSource,
  type Sink,
  type Source,
  type SourceSplit,
} from '../src/index.ts'

const NATS = '127.0.0.1:4222'
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' }
const REDIS = { host: '127.0.0.1', port: 6379 }

interface Row {
  id: number
  key: string
  amount: number
  note: string
}

const row = (id: number): Row => ({ id, key: `k${id % 97}`, amount: id % 1000, note: 'a short payload of some forty characters' })

/** Seconds a job or loop took, as records per second. */
function rate(records: number, ms: number): number {
  return records / (ms / 1000)
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await work()
  return performance.now() - start
}

async function readJob<T>(source: Source<T, SourceSplit, unknown>): Promise<number> {
  const env = StreamEnvironment.create({ parallelism: 1 })
  env.fromSource(source, WatermarkStrategy.noWatermarks(), 'source').sinkTo(discardSink(), 'discard')
  return timed(() => env.execute('bench-read'))
}

async function writeJob(records: number, sink: Sink<Row, unknown>): Promise<number> {
  const env = StreamEnvironment.create({ parallelism: 1 })
  env.enableCheckpointing(100)
  env.fromSource(numberSource(1, records, row, { splits: 1 }), WatermarkStrategy.noWatermarks(), 'rows').sinkTo(sink, 'sink')
  return timed(() => env.execute('bench-write'))
}

interface Result {
  connector: string
  direction: 'in' | 'out'
  engine: number
  client: number
}

async function jetstreamBench(records: number): Promise<Result[]> {
  const nc = await connect({ servers: NATS })
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  const stream = `WEIR_BENCH_${process.pid}_${Date.now()}`
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] })
  try {
    // Out: the sink (records published once their checkpoint completes, with ids) against
    // the client publishing the same payloads with ids, 512 unacknowledged at a time.
    const sinkMs = await writeJob(records, new JetStreamSink<Row>({ servers: NATS, subject: `${stream}.engine` }))
    const clientOutMs = await timed(async () => {
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < records) {
          const i = next++
          await js.publish(`${stream}.client`, JSON.stringify(row(i + 1)), { msgID: `bench-${i}` })
        }
      }
      await Promise.all(Array.from({ length: 512 }, worker))
    })
    // In: the source reading the engine's messages against the client pulling the same messages
    // (same batch) and parsing them.
    const sourceMs = await readJob(new JetStreamSource<Row>({ servers: NATS, streams: [{ stream, filter: `${stream}.engine` }], bounded: true }))
    const clientInMs = await timed(async () => {
      const name = `bench_${Date.now()}`
      await jsm.consumers.add(stream, { name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1, filter_subject: `${stream}.client`, mem_storage: true })
      const consumer = await js.consumers.get(stream, name)
      let seen = 0
      let sum = 0
      while (seen < records) {
        const batch = await consumer.fetch({ max_messages: 512, expires: 2000 })
        for await (const m of batch) {
          sum += (m.json() as Row).amount
          seen++
        }
      }
      if (sum < 0) throw new Error('unreachable')
      await jsm.consumers.delete(stream, name)
    })
    return [
      { connector: 'jetstream', direction: 'in', engine: rate(records, sourceMs), client: rate(records, clientInMs) },
      { connector: 'jetstream', direction: 'out', engine: rate(records, sinkMs), client: rate(records, clientOutMs) },
    ]
  } finally {
    await jsm.streams.delete(stream).catch(() => {})
    await nc.close()
  }
}

async function postgresBench(records: number): Promise<Result[]> {
  const db = new pg.Client(PG)
  await db.connect()
  const table = `weir_bench_${process.pid}_${Date.now()}`
  const columns = ['id', 'key', 'amount', 'note']
  const toRow = (r: Row): unknown[] => [r.id, r.key, r.amount, r.note]
  await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, key text, amount integer, note text)`)
  await db.query(`CREATE TABLE ${table}_c (id bigint PRIMARY KEY, key text, amount integer, note text)`)
  try {
    // Out: the exactly-once sink against the client inserting the same rows with the same
    // statement (2000 rows per INSERT, one JSON parameter), a transaction per batch.
    const sinkMs = await writeJob(records, new PostgresSink<Row>({ connection: PG, table, columns, toRow }))
    const clientOutMs = await timed(async () => {
      const sql = `INSERT INTO ${table}_c (id, key, amount, note) SELECT id, key, amount, note FROM json_populate_recordset(NULL::${table}_c, $1::json)`
      for (let from = 1; from <= records; from += 2000) {
        const batch: Row[] = []
        for (let id = from; id < Math.min(records + 1, from + 2000); id++) batch.push(row(id))
        await db.query('BEGIN')
        await db.query(sql, [JSON.stringify(batch)])
        await db.query('COMMIT')
      }
    })
    // In: the table source (one split) against the client paging by key with the same page size.
    const sourceMs = await readJob(new PostgresTableSource({ connection: PG, table, keyColumn: 'id', splits: 1, fetchSize: 2000 }))
    const clientInMs = await timed(async () => {
      let after = 0
      let seen = 0
      for (;;) {
        const page = await db.query<{ id: string }>(`SELECT *, id::text AS pos FROM ${table}_c WHERE id > $1 ORDER BY id LIMIT 2000`, [after])
        seen += page.rows.length
        if (page.rows.length < 2000) break
        after = Number(page.rows.at(-1)!.id)
      }
      if (seen !== records) throw new Error(`read ${seen} rows`)
    })
    return [
      { connector: 'postgres', direction: 'in', engine: rate(records, sourceMs), client: rate(records, clientInMs) },
      { connector: 'postgres', direction: 'out', engine: rate(records, sinkMs), client: rate(records, clientOutMs) },
    ]
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${table}`)
    await db.query(`DROP TABLE IF EXISTS ${table}_c`)
    await db.end()
  }
}

async function redisBench(records: number): Promise<Result[]> {
  const redis = new Redis(REDIS)
  const key = `weir:bench:${process.pid}:${Date.now()}`
  try {
    // Out: the exactly-once sink (MULTI/EXEC per checkpoint) against the client adding the same
    // entries in pipelines of 512.
    const sinkMs = await writeJob(records, new RedisStreamsSink<Row>({ ...REDIS, stream: `${key}:engine` }))
    const clientOutMs = await timed(async () => {
      for (let from = 1; from <= records; from += 512) {
        const p = redis.pipeline()
        for (let id = from; id < Math.min(records + 1, from + 512); id++) p.xadd(`${key}:client`, '*', 'data', JSON.stringify(row(id)))
        await p.exec()
      }
    })
    // In: the source (bounded, XRANGE pages of 512) against the client's own XRANGE loop.
    const sourceMs = await readJob(new RedisStreamsSource<Row>({ ...REDIS, streams: [`${key}:engine`], bounded: true, deserialize: (e) => JSON.parse(e.fields.data) as Row }))
    const clientInMs = await timed(async () => {
      let after = '0-0'
      let seen = 0
      for (;;) {
        const page = await redis.xrange(`${key}:client`, `(${after}`, '+', 'COUNT', 512)
        for (const [, fields] of page) if ((JSON.parse(fields[1]) as Row).amount >= 0) seen++
        if (page.length < 512) break
        after = page.at(-1)![0]
      }
      if (seen !== records) throw new Error(`read ${seen} entries`)
    })
    return [
      { connector: 'redis', direction: 'in', engine: rate(records, sourceMs), client: rate(records, clientInMs) },
      { connector: 'redis', direction: 'out', engine: rate(records, sinkMs), client: rate(records, clientOutMs) },
    ]
  } finally {
    await redis.del(`${key}:engine`, `${key}:client`)
    const markers = await redis.keys('weir:sink-commit:*')
    if (markers.length > 0) await redis.del(...markers)
    redis.disconnect()
  }
}

/** Runs the connector benchmarks and prints one line per connector and direction. */
export async function run(args: string[] = []): Promise<void> {
  const option = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
  const records = Number(option('records') ?? 50_000)
  const only = option('only')?.split(',')
  const benches: [string, (n: number) => Promise<Result[]>][] = [
    ['jetstream', jetstreamBench],
    ['postgres', postgresBench],
    ['redis', redisBench],
  ]
  console.log(`connector throughput, ${records} records of ~80 bytes, parallelism 1 (engine: a job; client: a plain loop of the same reads or writes)`)
  console.log(`${'connector'.padEnd(11)}${'dir'.padEnd(5)}${'engine rec/s'.padStart(14)}${'client rec/s'.padStart(14)}${'ratio'.padStart(8)}`)
  for (const [name, bench] of benches) {
    if (only && !only.includes(name)) continue
    for (const r of await bench(records)) {
      console.log(`${r.connector.padEnd(11)}${r.direction.padEnd(5)}${Math.round(r.engine).toString().padStart(14)}${Math.round(r.client).toString().padStart(14)}${(r.engine / r.client).toFixed(2).padStart(8)}`)
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run(process.argv.slice(2))
