import type { Socket } from 'node:net'
import { WeirError } from '../../errors.ts'

/**
 * Every connection of a cluster (coordinator and task managers, task manager to task manager,
 * clients) carries length-prefixed binary frames: a little-endian u32 with the length of what
 * follows, then a type byte and the frame's body.
 */
export const FrameType = {
  /** A control message (msgpack): RPC requests, responses, notifications, heartbeats. */
  control: 1,
  /** First frame of a data connection: who is dialing. */
  hello: 2,
  /** Receiver to sender: this many more record batches may be sent on a channel. */
  credit: 3,
  /** A batch of records on a channel. */
  batch: 4,
  /** A watermark, watermark status, barrier or end of partition on a channel. */
  event: 5,
} as const

/** Bytes of the length prefix. */
export const LENGTH_BYTES = 4

/** Larger frames mean a broken or foreign peer, not data: the connection is dropped. */
const MAX_FRAME_BYTES = 512 * 1024 * 1024

/**
 * Cuts a byte stream into frames. A frame that lies within one received chunk is handed out as a
 * view of that chunk (no copy); only frames split across chunks are copied together.
 */
export class FrameDecoder {
  private chunks: Buffer[] = []
  private buffered = 0

  constructor(private readonly onFrame: (frame: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    while (this.buffered >= LENGTH_BYTES) {
      const size = this.peekLength()
      if (size > MAX_FRAME_BYTES) throw new WeirError('PROTOCOL_ERROR', `Frame of ${size} bytes exceeds the limit of ${MAX_FRAME_BYTES}`)
      if (this.buffered < LENGTH_BYTES + size) return
      const frame = this.take(LENGTH_BYTES + size)
      this.onFrame(frame.subarray(LENGTH_BYTES))
    }
  }

  private peekLength(): number {
    const first = this.chunks[0]
    if (first.length >= LENGTH_BYTES) return first.readUInt32LE(0)
    return this.take(LENGTH_BYTES, true).readUInt32LE(0)
  }

  /** Takes `n` bytes off the front (or, with `peek`, reads them without taking). */
  private take(n: number, peek = false): Buffer {
    const first = this.chunks[0]
    if (first.length >= n) {
      if (peek) return first
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      this.buffered -= n
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let at = 0
    let i = 0
    while (at < n) {
      const chunk = this.chunks[i]
      const want = Math.min(chunk.length, n - at)
      chunk.copy(out, at, 0, want)
      at += want
      if (!peek) {
        if (want === chunk.length) i++
        else this.chunks[i] = chunk.subarray(want)
      } else {
        i++
      }
    }
    if (!peek) {
      this.chunks.splice(0, i)
      this.buffered -= n
    }
    return out
  }
}

/** A frame with room for its header: the caller fills the body from `offset` on. */
export function allocFrame(type: number, bodyBytes: number): Buffer {
  const frame = Buffer.allocUnsafe(LENGTH_BYTES + 1 + bodyBytes)
  frame.writeUInt32LE(1 + bodyBytes, 0)
  frame[LENGTH_BYTES] = type
  return frame
}

/** Prefixes an already encoded body with the length and the type. */
export function frameOf(type: number, body: Uint8Array): Buffer {
  const frame = allocFrame(type, body.byteLength)
  frame.set(body, LENGTH_BYTES + 1)
  return frame
}

/**
 * Writes frames to a socket at once: a credit or a batch that waited for the end of the turn could
 * wait for a busy task's next yield, and the round trip of credits bounds a channel's throughput.
 * Frames written between `cork` and `uncork` (within one synchronous step, such as handling one
 * received chunk) go out in one system call.
 */
export class FrameWriter {
  private corks = 0

  constructor(private readonly socket: Socket) {}

  write(frame: Buffer): void {
    if (this.socket.destroyed) return
    this.socket.write(frame)
  }

  cork(): void {
    if (this.corks++ === 0) this.socket.cork()
  }

  uncork(): void {
    if (--this.corks === 0) this.socket.uncork()
  }
}
