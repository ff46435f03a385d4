import type { Socket } from 'node:net'
import { Packr } from 'msgpackr'
import { WeirError } from '../../errors.ts'
import { FrameDecoder, FrameType, FrameWriter, frameOf } from './frames.ts'

/**
 * Control messages between cluster processes: requests with responses, one-way notifications and
 * heartbeats, msgpack-encoded in control frames. One `RpcPeer` per connection; both ends may send
 * requests.
 */

// Plain data only: control messages never carry user records, so no structured-clone extensions.
const packr = new Packr({ useRecords: false, mapsAsObjects: true })

/** A message body: plain data. */
export type Payload = Record<string, unknown>

type Wire =
  | { t: 'req'; id: number; m: string; p: Payload }
  | { t: 'res'; id: number; ok: true; v: unknown }
  | { t: 'res'; id: number; ok: false; e: SerializedError }
  | { t: 'msg'; m: string; p: Payload }
  | { t: 'hb' }

/** An error as it crosses a process boundary. */
export interface SerializedError {
  message: string
  code?: string
  name?: string
  stack?: string
}

/** Turns an error into plain data. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof WeirError) return { message: error.message, code: error.code, name: error.name, stack: error.stack }
  if (error instanceof Error) return { message: error.message, name: error.name, stack: error.stack }
  return { message: String(error) }
}

/** An error received from another process: a `WeirError` with the original code, or `REMOTE_ERROR`. */
export class RemoteError extends WeirError {
  constructor(readonly remote: SerializedError, prefix = '') {
    super(remote.code ?? 'REMOTE_ERROR', `${prefix}${remote.message}`)
    if (remote.stack) this.stack = `${this.name}: ${this.message}\n    --- remote ---\n${remote.stack}`
  }
}

/** Liveness settings: a heartbeat every `intervalMs`; the peer is lost after `timeoutMs` of silence. */
export interface HeartbeatSettings {
  intervalMs: number
  timeoutMs: number
}

/** What a peer does with what it receives. */
export interface RpcHandlers {
  /** A notification. */
  onMessage?(method: string, params: Payload): void
  /** A request; the returned value (or error) is the response. */
  onRequest?(method: string, params: Payload): unknown
  /** The connection closed or went silent; called once. */
  onLost?(reason: string): void
}

/** One end of a control connection. */
export class RpcPeer {
  private readonly writer: FrameWriter
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>()
  private lastHeard = performance.now()
  private heartbeat: NodeJS.Timeout | undefined
  private lostReason: string | undefined
  handlers: RpcHandlers

  constructor(
    readonly socket: Socket,
    handlers: RpcHandlers = {},
  ) {
    this.handlers = handlers
    this.writer = new FrameWriter(socket)
    socket.setNoDelay(true)
    const decoder = new FrameDecoder((frame) => this.onFrame(frame))
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk)
      } catch (error) {
        this.lose(`protocol error: ${(error as Error).message}`)
      }
    })
    socket.on('close', () => this.lose('connection closed'))
    socket.on('error', (error) => this.lose(`connection error: ${error.message}`))
  }

  /** Whether the connection is gone. */
  get isLost(): boolean {
    return this.lostReason !== undefined
  }

  /** Starts sending heartbeats and watching the peer's. */
  startHeartbeats(settings: HeartbeatSettings): void {
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.lastHeard = performance.now()
    const tick = Math.max(10, Math.min(settings.intervalMs, settings.timeoutMs / 4))
    let lastSent = 0
    this.heartbeat = setInterval(() => {
      const now = performance.now()
      const silent = now - this.lastHeard
      if (silent > settings.timeoutMs) {
        this.lose(`no heartbeat for ${Math.round(silent)} ms`)
        return
      }
      if (now - lastSent >= settings.intervalMs) {
        lastSent = now
        this.write({ t: 'hb' })
      }
    }, tick)
    this.heartbeat.unref()
  }

  /** Sends a notification. */
  notify(method: string, params: Payload): void {
    this.write({ t: 'msg', m: method, p: params })
  }

  /** Sends a request; resolves with the response (rejects after `timeoutMs`, when given). */
  request<T>(method: string, params: Payload, timeoutMs?: number): Promise<T> {
    if (this.lostReason !== undefined) return Promise.reject(new WeirError('CONNECTION_LOST', `Cannot send '${method}': ${this.lostReason}`))
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id)
              reject(new WeirError('REQUEST_TIMEOUT', `No answer to '${method}' after ${timeoutMs} ms`))
            }, timeoutMs)
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v as T)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      this.write({ t: 'req', id, m: method, p: params })
    })
  }

  /** Closes the connection (the peer sees it closed). */
  close(reason = 'closed by this side'): void {
    this.lose(reason)
  }

  private write(message: Wire): void {
    if (this.lostReason !== undefined) return
    this.writer.write(frameOf(FrameType.control, packr.pack(message)))
  }

  private lose(reason: string): void {
    if (this.lostReason !== undefined) return
    this.lostReason = reason
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.socket.destroy()
    const error = new WeirError('CONNECTION_LOST', `Connection lost: ${reason}`)
    for (const p of this.pending.values()) p.reject(error)
    this.pending.clear()
    this.handlers.onLost?.(reason)
  }

  private onFrame(frame: Buffer): void {
    this.lastHeard = performance.now()
    if (frame[0] !== FrameType.control) {
      this.lose(`unexpected frame type ${frame[0]} on a control connection`)
      return
    }
    const message = packr.unpack(frame.subarray(1)) as Wire
    switch (message.t) {
      case 'hb':
        return
      case 'msg':
        this.handlers.onMessage?.(message.m, message.p)
        return
      case 'res': {
        const p = this.pending.get(message.id)
        if (!p) return
        this.pending.delete(message.id)
        if (message.ok) p.resolve(message.v)
        else p.reject(new RemoteError(message.e))
        return
      }
      case 'req':
        void this.answer(message.id, message.m, message.p)
        return
    }
  }

  private async answer(id: number, method: string, params: Payload): Promise<void> {
    try {
      if (!this.handlers.onRequest) throw new WeirError('UNKNOWN_REQUEST', `This end answers no requests (got '${method}')`)
      const value = await this.handlers.onRequest(method, params)
      this.write({ t: 'res', id, ok: true, v: value ?? null })
    } catch (error) {
      this.write({ t: 'res', id, ok: false, e: serializeError(error) })
    }
  }
}
