import type { CheckpointBarrier } from '../io/stream-element.ts'
import type { InputGate } from '../io/input-gate.ts'

/** What the handler decides for a barrier that arrived. */
export type BarrierDecision =
  | { action: 'none' }
  /** Every input delivered the barrier: snapshot now and forward it. */
  | { action: 'snapshot'; barrier: CheckpointBarrier }
  /** A newer barrier overtook an alignment in progress: the older checkpoint cannot complete here. */
  | { action: 'abort-and-none'; abortedId: number }
  | { action: 'abort-and-snapshot'; abortedId: number; barrier: CheckpointBarrier }
  /** Unaligned: the first barrier arrived; snapshot now and record the listed channels until their barrier. */
  | { action: 'snapshot-unaligned'; barrier: CheckpointBarrier; pendingChannels: number[] }
  /** Unaligned: this channel's barrier arrived; its in-flight recording ends. */
  | { action: 'channel-barrier'; checkpointId: number; channel: number }

/**
 * Tracks barriers across a task's input channels. Exactly-once: a channel that delivered barrier n is
 * blocked until n came on every channel, so no record after n is processed before the snapshot.
 * At-least-once: channels are never blocked; the snapshot happens when the last barrier arrives, and
 * records after the barrier on faster channels are in it (and replayed after a restore).
 */
export class BarrierHandler {
  private currentId = -1
  private barrier: CheckpointBarrier | undefined
  private readonly arrived: boolean[]
  private arrivedCount = 0
  /** When the first barrier of the current checkpoint arrived (for the alignment time metric). */
  alignmentStart = 0

  constructor(private readonly gate: InputGate) {
    this.arrived = gate.channels.map(() => false)
  }

  /** The checkpoint being aligned, if any. */
  get pendingCheckpoint(): number | undefined {
    return this.barrier?.checkpointId
  }

  onBarrier(channel: number, barrier: CheckpointBarrier): BarrierDecision {
    if (barrier.options.unaligned) return this.onUnalignedBarrier(channel, barrier)
    const id = barrier.checkpointId
    if (id < this.currentId || (id === this.currentId && this.barrier === undefined)) {
      // A barrier of a checkpoint this task already finished or abandoned.
      return { action: 'none' }
    }
    let abortedId: number | undefined
    if (id > this.currentId) {
      if (this.barrier !== undefined) abortedId = this.currentId
      this.reset()
      this.currentId = id
      this.barrier = barrier
      this.alignmentStart = performance.now()
    }
    if (!this.arrived[channel]) {
      this.arrived[channel] = true
      this.arrivedCount++
      if (barrier.options.mode === 'exactly-once') this.gate.block(channel)
    }
    const decision = this.checkComplete()
    if (abortedId === undefined) return decision
    return decision.action === 'snapshot' ? { action: 'abort-and-snapshot', abortedId, barrier: decision.barrier } : { action: 'abort-and-none', abortedId }
  }

  private unalignedId = -1
  private unalignedArrived: boolean[] = []

  private onUnalignedBarrier(channel: number, barrier: CheckpointBarrier): BarrierDecision {
    const id = barrier.checkpointId
    if (id < this.unalignedId) return { action: 'none' }
    if (id > this.unalignedId) {
      this.unalignedId = id
      this.unalignedArrived = this.gate.channels.map((_, c) => c === channel || this.gate.hasEnded(c))
      this.alignmentStart = performance.now()
      const pendingChannels = this.unalignedArrived.flatMap((arrived, c) => (arrived ? [] : [c]))
      return { action: 'snapshot-unaligned', barrier, pendingChannels }
    }
    if (this.unalignedArrived[channel]) return { action: 'none' }
    this.unalignedArrived[channel] = true
    return { action: 'channel-barrier', checkpointId: id, channel }
  }

  /** A channel ended: it will send no barrier, so it no longer holds the alignment back. */
  onEndOfPartition(): BarrierDecision {
    return this.barrier === undefined ? { action: 'none' } : this.checkComplete()
  }

  private checkComplete(): BarrierDecision {
    const barrier = this.barrier!
    for (let c = 0; c < this.arrived.length; c++) {
      if (!this.arrived[c] && !this.gate.hasEnded(c)) return { action: 'none' }
    }
    this.reset()
    return { action: 'snapshot', barrier }
  }

  private reset(): void {
    this.barrier = undefined
    this.arrived.fill(false)
    this.arrivedCount = 0
    this.gate.unblockAll()
  }
}
