import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads'
import { WeirError } from '../../errors.ts'
import { BINDING_PATH, type NativeOpenOptions } from './native.ts'

/**
 * Opens and closes RocksDB instances synchronously.
 *
 * The addon opens and closes only asynchronously (on the libuv thread pool, with a callback), but a
 * keyed backend is created, restored and used synchronously by the task. So a helper thread does the
 * open and the close, and the calling thread blocks on a shared flag until it is done. The helper
 * owns the native database object; the caller gets its address and attaches to it with
 * `db_init(address)`, which gives a handle of its own in its own thread (the addon supports that:
 * `RocksLevel` accepts a handle for the same reason). The helper thread stays, idle and unref'd, for
 * as long as the process lives: leaving would close the databases it opened.
 */

// CommonJS, run with `eval`, so the helper needs no loader and starts in milliseconds.
const HELPER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const binding = require(workerData.bindingPath)
const open = new Map()
parentPort.on('message', (request) => {
  const { port, flag } = request
  const reply = (message) => {
    port.postMessage(message)
    Atomics.store(flag, 0, 1)
    Atomics.notify(flag, 0)
  }
  const failed = (error) => reply({ error: String((error && error.message) || error) })
  try {
    if (request.op === 'open') {
      const db = binding.db_init(request.location)
      binding.db_open(db, request.options, (error) => {
        if (error) return failed(error)
        const handle = binding.db_get_handle(db)
        open.set(handle, db)
        reply({ handle })
      })
    } else if (request.op === 'close') {
      const db = open.get(request.handle)
      if (db === undefined) return reply({})
      binding.db_close(db, (error) => {
        open.delete(request.handle)
        if (error) failed(error)
        else reply({})
      })
    } else {
      failed(new Error('unknown request ' + request.op))
    }
  } catch (error) {
    failed(error)
  }
})
`

/** Longest wait for the helper: an open replays the write-ahead log, which is short here. */
const TIMEOUT_MS = 120_000

let helper: Worker | undefined

function getHelper(): Worker {
  if (helper !== undefined) return helper
  const worker = new Worker(HELPER_SOURCE, { eval: true, workerData: { bindingPath: BINDING_PATH }, execArgv: [] })
  worker.unref()
  // A helper that died is replaced on the next request instead of leaving every caller to time out.
  worker.on('exit', () => {
    if (helper === worker) helper = undefined
  })
  worker.on('error', () => {
    if (helper === worker) helper = undefined
  })
  helper = worker
  return worker
}

interface Reply {
  handle?: bigint
  error?: string
}

function request(message: { op: 'open'; location: string; options: NativeOpenOptions } | { op: 'close'; handle: bigint }, what: string): Reply {
  const { port1, port2 } = new MessageChannel()
  const flag = new Int32Array(new SharedArrayBuffer(4))
  try {
    getHelper().postMessage({ ...message, port: port2, flag }, [port2])
    if (Atomics.wait(flag, 0, 0, TIMEOUT_MS) === 'timed-out') {
      throw new WeirError('ROCKSDB_FAILED', `RocksDB did not ${what} within ${TIMEOUT_MS / 1000} s`)
    }
    const received = receiveMessageOnPort(port1)
    if (received === undefined) throw new WeirError('ROCKSDB_FAILED', `RocksDB gave no answer when asked to ${what}`)
    return received.message as Reply
  } finally {
    port1.close()
  }
}

/** Opens (creating it) the database in `location`; returns the address of its native object. */
export function openDatabase(location: string, options: NativeOpenOptions): bigint {
  const reply = request({ op: 'open', location, options }, `open ${location}`)
  if (reply.error !== undefined || reply.handle === undefined) {
    throw new WeirError('ROCKSDB_FAILED', `Cannot open RocksDB in ${location}: ${reply.error ?? 'no handle returned'}`)
  }
  return reply.handle
}

/** Closes a database opened by `openDatabase`. Its iterators must be closed first. */
export function closeDatabase(handle: bigint, location: string): void {
  const reply = request({ op: 'close', handle }, `close ${location}`)
  if (reply.error !== undefined) throw new WeirError('ROCKSDB_FAILED', `Cannot close RocksDB in ${location}: ${reply.error}`)
}
