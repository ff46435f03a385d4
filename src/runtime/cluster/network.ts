import { connect, createServer, type Server, type Socket } from 'node:net'
import { WeirError } from '../../errors.ts'
import { RecordBatch, type ChannelItem } from '../io/stream-element.ts'
import { decodeDataFrame, encodeBatch, encodeCredit, encodeEvent } from './data-codec.ts'
import { FrameDecoder, FrameType, FrameWriter, frameOf } from './frames.ts'
import { RemoteInputChannel, RemoteOutputChannel, type ChannelLink } from './network-channels.ts'

/** Where a task manager's data server listens. */
export interface PeerAddress {
  host: string
  port: number
}

/** Channel indexes of one attempt fit in 21 bits, so (stream, channel) packs into one safe integer. */
const CHANNEL_BITS = 2 ** 21

function channelKey(stream: number, channel: number): number {
  return stream * CHANNEL_BITS + channel
}

const DIAL_ATTEMPTS = 20
const DIAL_RETRY_MS = 100

/**
 * The data connection to one other task manager: one TCP connection per pair of processes,
 * multiplexing every channel between them, of every job. Frames written before the connection is
 * up wait in a backlog.
 */
class PeerConnection implements ChannelLink {
  private writer: FrameWriter | undefined
  private socket: Socket | undefined
  private backlog: Buffer[] = []
  readonly outputs = new Map<number, RemoteOutputChannel>()
  readonly inputs = new Map<number, RemoteInputChannel>()
  /** Credits for output channels this process has not created yet (the receiver was quicker). */
  private readonly earlyCredits = new Map<number, number>()
  lost = false

  constructor(
    readonly peerId: string,
    private readonly onLost: (peer: PeerConnection, reason: string) => void,
  ) {}

  attach(socket: Socket, decoder: { handler: (frame: Buffer) => void }): void {
    if (this.socket && this.socket !== socket) this.socket.destroy()
    this.socket = socket
    socket.setNoDelay(true)
    this.writer = new FrameWriter(socket)
    decoder.handler = (frame) => this.onFrame(frame)
    const backlog = this.backlog
    this.backlog = []
    for (const frame of backlog) this.writer.write(frame)
    socket.on('close', () => {
      if (this.socket === socket) this.lose('connection closed')
    })
  }

  sendItem(stream: number, channel: number, item: ChannelItem): void {
    this.write(item instanceof RecordBatch ? encodeBatch(stream, channel, item) : encodeEvent(stream, channel, item))
  }

  sendCredit(stream: number, channel: number, credits: number): void {
    this.write(encodeCredit(stream, channel, credits))
  }

  cork(): void {
    this.writer?.cork()
  }

  uncork(): void {
    this.writer?.uncork()
  }

  /** Handles one received chunk: whatever it makes this side send goes out in one write. */
  receive(frames: FrameDecoder, chunk: Buffer): void {
    const writer = this.writer
    writer?.cork()
    try {
      frames.push(chunk)
    } finally {
      writer?.uncork()
    }
  }

  private write(frame: Buffer): void {
    if (this.lost) return
    if (this.writer) this.writer.write(frame)
    else this.backlog.push(frame)
  }

  addOutput(channel: RemoteOutputChannel): void {
    const key = channelKey(channel.stream, channel.index)
    this.outputs.set(key, channel)
    const early = this.earlyCredits.get(key)
    if (early !== undefined) {
      this.earlyCredits.delete(key)
      channel.addCredit(early)
    }
  }

  addInput(channel: RemoteInputChannel): void {
    this.inputs.set(channelKey(channel.stream, channel.index), channel)
    channel.announce()
  }

  /** Forgets every channel of an attempt. */
  releaseStream(stream: number): void {
    const from = channelKey(stream, 0)
    const to = channelKey(stream + 1, 0)
    for (const [key, c] of this.outputs) {
      if (key < from || key >= to) continue
      c.release()
      this.outputs.delete(key)
    }
    for (const [key, c] of this.inputs) {
      if (key < from || key >= to) continue
      c.release()
      this.inputs.delete(key)
    }
    for (const key of this.earlyCredits.keys()) if (key >= from && key < to) this.earlyCredits.delete(key)
  }

  /** The attempts that have channels on this connection. */
  streams(): Set<number> {
    const streams = new Set<number>()
    for (const key of [...this.outputs.keys(), ...this.inputs.keys()]) streams.add(Math.floor(key / CHANNEL_BITS))
    return streams
  }

  private onFrame(frame: Buffer): void {
    const decoded = decodeDataFrame(frame)
    const key = channelKey(decoded.stream, decoded.channel)
    if (decoded.type === 'credit') {
      const output = this.outputs.get(key)
      if (output) output.addCredit(decoded.credits)
      else this.earlyCredits.set(key, (this.earlyCredits.get(key) ?? 0) + decoded.credits)
      return
    }
    // Items for a channel that is gone belong to a cancelled attempt: dropped.
    this.inputs.get(key)?.deliver(decoded.item)
  }

  lose(reason: string): void {
    if (this.lost) return
    this.lost = true
    this.socket?.destroy()
    this.backlog = []
    this.onLost(this, reason)
  }
}

/** Statistics of one channel end, for metrics and tests. */
export interface ChannelEndStats {
  name: string
  kind: 'local' | 'network-out' | 'network-in'
  capacity: number
  queuedRecords: number
  maxQueuedRecords: number
}

/**
 * A task manager's network stack: a data server for the connections other task managers open, the
 * connections this one opens, and the registry of network channel ends on them. Of each pair of
 * task managers the one with the smaller id dials, so a pair never holds two connections.
 */
export class NetworkEnvironment {
  private server: Server | undefined
  private readonly peers = new Map<string, PeerConnection>()
  private selfId: string | undefined
  private closed = false
  /** Called when a data connection breaks, with the attempts that had channels on it. */
  onPeerLost: (peerId: string, streams: Set<number>, reason: string) => void = () => {}

  constructor(private readonly bindHost: string) {}

  /** Starts the data server; resolves with its port. */
  async start(port = 0): Promise<number> {
    const server = createServer((socket) => this.accept(socket))
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, this.bindHost, () => resolve())
    })
    const address = server.address()
    if (address === null || typeof address === 'string') throw new WeirError('INTERNAL', 'The data server has no TCP address')
    return address.port
  }

  /** Sets this task manager's id (given at registration); drops connections made under an older id. */
  setIdentity(id: string): void {
    if (this.selfId === id) return
    this.selfId = id
    for (const peer of [...this.peers.values()]) peer.lose('this task manager registered again')
  }

  /** Creates the sending end of a channel to a subtask on `peerId`. */
  createOutput(peerId: string, address: PeerAddress, stream: number, index: number, capacity: number, name: string): RemoteOutputChannel {
    const peer = this.peer(peerId, address)
    const channel = new RemoteOutputChannel(capacity, name, stream, index, peer)
    peer.addOutput(channel)
    return channel
  }

  /** Creates the receiving end of a channel from a subtask on `peerId`; it grants its credits at once. */
  createInput(peerId: string, address: PeerAddress, stream: number, index: number, capacity: number, name: string): RemoteInputChannel {
    if (index >= CHANNEL_BITS) throw new WeirError('JOB_TOO_LARGE', `A job may have at most ${CHANNEL_BITS} channels`)
    const peer = this.peer(peerId, address)
    const channel = new RemoteInputChannel(capacity, name, stream, index, peer)
    peer.addInput(channel)
    return channel
  }

  /**
   * Forgets every network channel of an attempt: it was cancelled, or its job has ended (a finished
   * task's channels stay until then, since what it sent last may still wait for credit).
   */
  releaseStream(stream: number): void {
    for (const peer of this.peers.values()) peer.releaseStream(stream)
  }

  /** Closes the server and every connection. */
  async close(): Promise<void> {
    this.closed = true
    for (const peer of [...this.peers.values()]) peer.lose('the task manager is shutting down')
    const server = this.server
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private peer(peerId: string, address: PeerAddress): PeerConnection {
    let peer = this.peers.get(peerId)
    if (peer && !peer.lost) return peer
    if (this.selfId === undefined) throw new WeirError('INTERNAL', 'The task manager has no id yet')
    peer = new PeerConnection(peerId, (p, reason) => this.lost(p, reason))
    this.peers.set(peerId, peer)
    if (this.selfId < peerId) this.dial(peer, address, 0)
    return peer
  }

  private dial(peer: PeerConnection, address: PeerAddress, attempt: number): void {
    const socket = connect(address.port, address.host)
    const decoder = { handler: (_frame: Buffer): void => {} }
    const frames = new FrameDecoder((frame) => decoder.handler(frame))
    let connected = false
    socket.on('connect', () => {
      connected = true
      socket.write(frameOf(FrameType.hello, Buffer.from(JSON.stringify({ id: this.selfId }))))
      peer.attach(socket, decoder)
    })
    socket.on('data', (chunk: Buffer) => this.feed(frames, chunk, socket, connected ? peer : undefined))
    socket.on('error', (error) => {
      if (connected || peer.lost) return
      if (attempt + 1 >= DIAL_ATTEMPTS || this.closed) peer.lose(`cannot connect to ${address.host}:${address.port}: ${error.message}`)
      else setTimeout(() => this.dial(peer, address, attempt + 1), DIAL_RETRY_MS).unref()
    })
  }

  private feed(frames: FrameDecoder, chunk: Buffer, socket: Socket, peer: PeerConnection | undefined): void {
    try {
      if (peer) peer.receive(frames, chunk)
      else frames.push(chunk)
    } catch (error) {
      if (peer) peer.lose(`protocol error: ${(error as Error).message}`)
      else socket.destroy()
    }
  }

  private accept(socket: Socket): void {
    const decoder = {
      handler: (frame: Buffer): void => {
        if (frame[0] !== FrameType.hello) {
          socket.destroy()
          return
        }
        const { id } = JSON.parse(frame.subarray(1).toString('utf8')) as { id: string }
        let peer = this.peers.get(id)
        if (!peer || peer.lost) {
          peer = new PeerConnection(id, (p, reason) => this.lost(p, reason))
          this.peers.set(id, peer)
        }
        accepted = peer
        peer.attach(socket, decoder)
      },
    }
    let accepted: PeerConnection | undefined
    const frames = new FrameDecoder((frame) => decoder.handler(frame))
    socket.on('data', (chunk: Buffer) => this.feed(frames, chunk, socket, accepted))
    socket.on('error', () => socket.destroy())
  }

  private lost(peer: PeerConnection, reason: string): void {
    if (this.peers.get(peer.peerId) === peer) this.peers.delete(peer.peerId)
    const streams = peer.streams()
    for (const stream of streams) peer.releaseStream(stream)
    if (!this.closed && streams.size > 0) this.onPeerLost(peer.peerId, streams, reason)
  }
}
