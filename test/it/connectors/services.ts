import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect as natsConnect } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import pg from 'pg'
import type { InputStatus, ReaderOutput, SourceReader, SourceSplit } from '../../../src/index.ts'

/** The machine's NATS server. */
export const NATS_SERVERS = '127.0.0.1:4222'
/** The machine's PostgreSQL (trust authentication). */
export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' }
/** The machine's Redis. */
export const REDIS = { host: '127.0.0.1', port: 6379 }

const START = {
  redis: 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
  nats: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log',
  postgres: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
}

let counter = 0
/** A name no other test run uses: letters, digits and underscores. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${++counter}`
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls until `condition` holds (it may be async). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const start = Date.now()
  for (;;) {
    try {
      if (await condition()) return
    } catch {
      // Not yet: the service may be coming back.
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

/** Runs a shell command without blocking the event loop: the job under test keeps running meanwhile. */
function sh(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // stdio ignored: a daemon the command starts must not hold a pipe this process waits on.
    const child = spawn('bash', ['-c', command], { stdio: 'ignore' })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new Error(`'${command}' exited with ${code}`))
    })
  })
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function redisUp(): Promise<boolean> {
  const redis = new Redis({ ...REDIS, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return (await redis.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}

async function natsUp(stream?: string): Promise<boolean> {
  if (!(await tcpOpen(4222))) return false
  const nc = await natsConnect({ servers: NATS_SERVERS, reconnect: false, timeout: 1000 })
  try {
    const jsm = await jetstreamManager(nc)
    await jsm.getAccountInfo()
    if (stream) await jsm.streams.info(stream)
    return true
  } finally {
    await nc.close()
  }
}

async function postgresUp(): Promise<boolean> {
  const client = new pg.Client({ ...PG, connectionTimeoutMillis: 1000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Starts each service that is down; every test file runs this when it starts and ends, so none is
 * left stopped. It holds every service shared, so it never races a restart in another file.
 */
export async function ensureServices(): Promise<void> {
  await withServices({ nats: 'shared', postgres: 'shared', redis: 'shared' }, async () => {
    await startIfDown(redisUp, START.redis, 'Redis')
    await startIfDown(() => tcpOpen(4222), START.nats, 'NATS')
    await startIfDown(postgresUp, START.postgres, 'PostgreSQL')
    await waitFor(() => natsUp(), 'NATS JetStream to answer', 30_000)
  })
}

/** Starts a service if it is down. A failed start command is fine if the service answers after all. */
async function startIfDown(up: () => Promise<boolean>, start: string, name: string): Promise<void> {
  if (await up()) return
  await sh(start).catch(() => {})
  await waitFor(up, `${name} to answer`, 30_000)
}

/** Stops Redis (its data goes with it: the server keeps nothing on disk), waits, starts it again. */
export async function restartRedis(downMs = 500): Promise<void> {
  try {
    await sh('redis-cli -h 127.0.0.1 -p 6379 shutdown nosave || true')
    await waitFor(async () => !(await redisUp()), 'Redis to stop', 10_000)
    await sleep(downMs)
  } finally {
    await startIfDown(redisUp, START.redis, 'Redis')
  }
}

/** Stops NATS (streams are on disk and come back), waits, starts it again; resolves once `stream` is served. */
export async function restartNats(downMs = 500, stream?: string): Promise<void> {
  try {
    await sh('start-stop-daemon --stop --oknodo --exec /usr/sbin/nats-server')
    // --stop signals and returns: starting before the old process is gone would do nothing.
    await waitFor(async () => !(await tcpOpen(4222)), 'NATS to stop', 15_000)
    await waitFor(
      () => sh('start-stop-daemon --status --exec /usr/sbin/nats-server').then(
        () => false,
        () => true,
      ),
      'the NATS process to exit',
      15_000,
    )
    await sleep(downMs)
  } finally {
    await startIfDown(() => tcpOpen(4222), START.nats, 'NATS')
    await waitFor(() => natsUp(stream), 'NATS JetStream to come back', 30_000)
  }
}

/** Stops PostgreSQL (fast shutdown: open connections are cut), waits, starts it again. */
export async function restartPostgres(downMs = 300): Promise<void> {
  try {
    await sh('pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main stop -m fast')
    await sleep(downMs)
  } finally {
    await startIfDown(postgresUp, START.postgres, 'PostgreSQL')
  }
}

/** A service a test uses. */
export type Service = 'nats' | 'postgres' | 'redis'

const LOCK_ROOT = join(tmpdir(), 'weir-connector-test-locks')
/** Locks are always taken in this order, so two tests cannot wait on each other. */
const ORDER: Service[] = ['nats', 'postgres', 'redis']
let lockSeq = 0

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function writerHeld(dir: string): boolean {
  const writer = join(dir, 'writer')
  let pid: number
  try {
    pid = Number(readFileSync(join(writer, 'pid'), 'utf8'))
  } catch {
    try {
      // Created but its pid not written yet, or left by a process that died at that moment.
      if (Date.now() - statSync(writer).mtimeMs < 10_000) return true
      rmSync(writer, { recursive: true, force: true })
    } catch {
      // No writer.
    }
    return false
  }
  if (alive(pid)) return true
  rmSync(writer, { recursive: true, force: true })
  return false
}

function liveReaders(dir: string): number {
  let live = 0
  for (const name of readdirSync(join(dir, 'readers'))) {
    if (alive(Number(name.split('-')[0]))) live++
    else rmSync(join(dir, 'readers', name), { force: true })
  }
  return live
}

/**
 * A readers-writer lock across processes (test files run in parallel): tests that only use a
 * service share it, a test that restarts the service has it alone, so a restart never hits another
 * test's job.
 */
async function acquire(service: Service, mode: 'shared' | 'exclusive'): Promise<() => void> {
  const dir = join(LOCK_ROOT, service)
  mkdirSync(join(dir, 'readers'), { recursive: true })
  const deadline = Date.now() + 180_000
  const check = (): void => {
    if (Date.now() > deadline) throw new Error(`could not lock ${service} (${mode}) within 180 s`)
  }
  if (mode === 'shared') {
    for (;;) {
      while (writerHeld(dir)) {
        check()
        await sleep(50)
      }
      const me = join(dir, 'readers', `${process.pid}-${++lockSeq}`)
      writeFileSync(me, '')
      // Registered, then checked again: a writer that came in between sees this reader or is seen.
      if (!writerHeld(dir)) return () => rmSync(me, { force: true })
      rmSync(me, { force: true })
    }
  }
  const writer = join(dir, 'writer')
  for (;;) {
    try {
      mkdirSync(writer)
      writeFileSync(join(writer, 'pid'), String(process.pid))
      break
    } catch {
      writerHeld(dir)
      check()
      await sleep(50)
    }
  }
  while (liveReaders(dir) > 0) {
    check()
    await sleep(50)
  }
  return () => rmSync(writer, { recursive: true, force: true })
}

/** Runs `fn` holding the services it uses: shared to use one, exclusive to restart one. */
export async function withServices<R>(wants: Partial<Record<Service, 'shared' | 'exclusive'>>, fn: () => Promise<R>): Promise<R> {
  const release: (() => void)[] = []
  try {
    for (const s of ORDER) {
      const mode = wants[s]
      if (mode) release.push(await acquire(s, mode))
    }
    return await fn()
  } finally {
    for (const r of release.reverse()) r()
  }
}

/** What a reader emitted: values with their timestamps. */
export interface Emitted<T> {
  value: T
  timestamp: number | undefined
  split: string | undefined
}

/**
 * Polls a reader as a source task would, until it emitted at least `count` records, ended, or the
 * time ran out. Returns what it emitted (a poll emits a batch, so possibly more than `count`).
 */
export async function pollReader<T, S extends SourceSplit>(reader: SourceReader<T, S>, count: number, timeoutMs = 15_000): Promise<{ records: Emitted<T>[]; status: InputStatus }> {
  const records: Emitted<T>[] = []
  const output: ReaderOutput<T> = {
    collect: (value, timestamp) => records.push({ value, timestamp, split: undefined }),
    createOutputForSplit: (split) => ({ collect: (value, timestamp) => records.push({ value, timestamp, split }) }),
    releaseOutputForSplit: () => {},
  }
  const start = Date.now()
  let status: InputStatus = 'more'
  while (records.length < count) {
    status = reader.pollNext(output)
    if (status === 'end') break
    if (status === 'nothing-available') await Promise.race([reader.isAvailable(), sleep(100)])
    if (Date.now() - start > timeoutMs) throw new Error(`reader emitted ${records.length} of ${count} records in ${timeoutMs} ms`)
  }
  return { records, status }
}

/** A reader context for driving readers directly. */
export const readerContext = { subtaskIndex: 0, parallelism: 1, sendSplitRequest: (): void => {} }

/** The writer context of a sink subtask, for driving writers and committers directly. */
export function writerContext(jobId: string, subtaskIndex = 0): { jobId: string; operatorName: string; subtaskIndex: number; parallelism: number; maxParallelism: number; attemptNumber: number; attemptId: string } {
  return { jobId, operatorName: 'sink', subtaskIndex, parallelism: 1, maxParallelism: 128, attemptNumber: 0, attemptId: `${jobId}-0` }
}

/** Every payload of a JetStream stream, in order, through an ordered consumer (one request per batch, not per message). */
export async function readJetStream(nc: import('@nats-io/transport-node').NatsConnection, stream: string): Promise<string[]> {
  const { jetstream } = await import('@nats-io/jetstream')
  const js = jetstream(nc)
  const jsm = await jetstreamManager(nc)
  const total = (await jsm.streams.info(stream)).state.messages
  const out: string[] = []
  if (total === 0) return out
  const consumer = await js.consumers.get(stream)
  while (out.length < total) {
    const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 2000 })
    for await (const m of batch) out.push(m.string())
  }
  await consumer.delete().catch(() => {})
  return out
}
