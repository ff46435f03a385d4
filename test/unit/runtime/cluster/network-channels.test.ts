import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeDataFrame, encodeBatch, encodeCredit, encodeEvent } from '../../../../src/runtime/cluster/data-codec.ts'
import { FrameDecoder, LENGTH_BYTES } from '../../../../src/runtime/cluster/frames.ts'
import { RemoteInputChannel, RemoteOutputChannel, type ChannelLink } from '../../../../src/runtime/cluster/network-channels.ts'
import { CheckpointBarrier, EndOfPartition, RecordBatch, WatermarkEvent, WatermarkStatusEvent, type ChannelItem } from '../../../../src/runtime/io/stream-element.ts'
import { NO_TIMESTAMP } from '../../../../src/time/time.ts'

/** Frames as they come out of the encoders, without their length prefix (what the decoder hands out). */
function body(frame: Buffer): Buffer {
  return frame.subarray(LENGTH_BYTES)
}

function roundTrip(item: ChannelItem): ChannelItem {
  const frame = item instanceof RecordBatch ? encodeBatch(7, 3, item) : encodeEvent(7, 3, item)
  const decoded = decodeDataFrame(body(frame))
  assert.equal(decoded.stream, 7)
  assert.equal(decoded.channel, 3)
  assert.equal(decoded.type, 'item')
  return (decoded as { item: ChannelItem }).item
}

describe('frames', () => {
  it('cuts a byte stream into frames wherever the chunks split it', () => {
    const frames = [encodeCredit(1, 2, 3), encodeBatch(1, 2, new RecordBatch([1, 2, 3], [10, 20, 30])), encodeEvent(1, 2, new WatermarkEvent(42))]
    const stream = Buffer.concat(frames)
    for (let cut = 1; cut < stream.length; cut++) {
      for (const size of [1, 2, 3, 5, cut]) {
        const got: Buffer[] = []
        const decoder = new FrameDecoder((f) => got.push(Buffer.from(f)))
        for (let at = 0; at < stream.length; at += size) decoder.push(stream.subarray(at, at + size))
        assert.deepEqual(got, frames.map(body))
      }
    }
  })
})

describe('data frames', () => {
  it('carry numeric batches as i32 or f64, with and without timestamps', () => {
    const withTs = roundTrip(new RecordBatch([1.5, -2, 3e300, Number.NaN], [1, 2, 3, NO_TIMESTAMP])) as RecordBatch
    assert.deepEqual(withTs.values, [1.5, -2, 3e300, Number.NaN])
    const ints = [0, -1, 2 ** 31 - 1, -(2 ** 31), 42]
    assert.deepEqual((roundTrip(new RecordBatch(ints, ints.map(() => NO_TIMESTAMP))) as RecordBatch).values, ints)
    // -0 and 2^31 are not i32 values: they go as f64 and come back as they were.
    const edges = [-0, 2 ** 31, 1]
    const back = (roundTrip(new RecordBatch(edges, edges.map(() => NO_TIMESTAMP))) as RecordBatch).values
    assert.ok(Object.is(back[0], -0))
    assert.deepEqual(back, edges)
    assert.deepEqual(withTs.timestamps, [1, 2, 3, NO_TIMESTAMP])
    const noTs = roundTrip(new RecordBatch([1, 2], [NO_TIMESTAMP, NO_TIMESTAMP])) as RecordBatch
    assert.deepEqual(noTs.timestamps, [NO_TIMESTAMP, NO_TIMESTAMP])
  })

  it('carry any other values with the engine packer', () => {
    const values = [{ user: 'a', n: 1 }, 'text', ['a', 1], new Map([['k', 1]]), 12n, undefined, null, new Date(5)]
    const batch = roundTrip(new RecordBatch(values, values.map((_, i) => i))) as RecordBatch
    assert.deepEqual(batch.values, values)
    assert.deepEqual(batch.timestamps, [0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('carry every event', () => {
    assert.equal((roundTrip(new WatermarkEvent(123)) as WatermarkEvent).watermark, 123)
    assert.equal(roundTrip(WatermarkStatusEvent.IDLE), WatermarkStatusEvent.IDLE)
    assert.equal(roundTrip(WatermarkStatusEvent.ACTIVE), WatermarkStatusEvent.ACTIVE)
    assert.equal(roundTrip(EndOfPartition.INSTANCE), EndOfPartition.INSTANCE)
    assert.equal(roundTrip(EndOfPartition.STOPPED), EndOfPartition.STOPPED)
    const barrier = roundTrip(new CheckpointBarrier(9, 1000, { kind: 'savepoint', mode: 'exactly-once', unaligned: false, targetDirectory: '/tmp/x' })) as CheckpointBarrier
    assert.deepEqual([barrier.checkpointId, barrier.timestamp, barrier.options], [9, 1000, { kind: 'savepoint', mode: 'exactly-once', unaligned: false, targetDirectory: '/tmp/x' }])
  })

  it('carry credits', () => {
    assert.deepEqual(decodeDataFrame(body(encodeCredit(4, 5, 6))), { type: 'credit', stream: 4, channel: 5, credits: 6 })
  })
})

/** A sender and a receiver joined by a link that delivers frames (encoded and decoded) when told to. */
function pair(capacity: number): { output: RemoteOutputChannel; input: RemoteInputChannel; deliver: () => number; wire: Buffer[] } {
  const toReceiver: Buffer[] = []
  const toSender: Buffer[] = []
  const senderLink: ChannelLink = {
    sendItem: (stream, channel, item) => toReceiver.push(item instanceof RecordBatch ? encodeBatch(stream, channel, item) : encodeEvent(stream, channel, item)),
    sendCredit: () => assert.fail('the sender grants no credit'),
  }
  const receiverLink: ChannelLink = {
    sendItem: () => assert.fail('the receiver sends no items'),
    sendCredit: (stream, channel, credits) => toSender.push(encodeCredit(stream, channel, credits)),
  }
  const output = new RemoteOutputChannel(capacity, 'out', 1, 0, senderLink)
  const input = new RemoteInputChannel(capacity, 'in', 1, 0, receiverLink)
  const deliver = (): number => {
    let n = 0
    while (toReceiver.length > 0 || toSender.length > 0) {
      for (const f of toReceiver.splice(0)) {
        const d = decodeDataFrame(body(f))
        if (d.type === 'item') input.deliver(d.item)
        n++
      }
      for (const f of toSender.splice(0)) {
        const d = decodeDataFrame(body(f))
        if (d.type === 'credit') output.addCredit(d.credits)
        n++
      }
    }
    return n
  }
  return { output, input, deliver, wire: toReceiver }
}

function batch(...values: number[]): RecordBatch {
  return new RecordBatch(values, values.map(() => NO_TIMESTAMP))
}

describe('credit-based channels', () => {
  it('send nothing before the receiver announced its credit, then only what it grants', () => {
    const { output, input, deliver, wire } = pair(2)
    output.push(batch(1))
    assert.equal(wire.length, 0, 'no credit yet')
    input.announce()
    deliver()
    output.push(batch(2))
    output.push(batch(3))
    deliver()
    // The receiver holds 2 (its capacity); the third waits at the sender, which is now full too.
    assert.equal(input.queuedRecords, 2)
    assert.equal(output.queuedRecords, 1)
    output.push(batch(4))
    assert.equal(output.canAcceptBatch(), false)
    assert.equal(input.maxQueuedRecords, 2)
    const got: number[] = []
    for (let i = 0; i < 4; i++) {
      const item = input.poll() as RecordBatch
      got.push(item.values[0] as number)
      deliver()
    }
    assert.deepEqual(got, [1, 2, 3, 4])
    assert.ok(input.maxQueuedRecords <= 2 && output.maxQueuedRecords <= 2)
  })

  it('keep events in order with the batches around them, without needing credit', () => {
    const { output, input, deliver } = pair(1)
    input.announce()
    deliver()
    output.push(batch(1))
    output.push(new WatermarkEvent(5))
    output.push(batch(2))
    output.push(EndOfPartition.INSTANCE)
    deliver()
    const items: ChannelItem[] = []
    for (let item = input.poll(); item !== undefined || items.at(-1) !== EndOfPartition.INSTANCE; item = input.poll()) {
      if (item) items.push(item)
      deliver()
    }
    assert.deepEqual(
      items.map((i) => (i instanceof RecordBatch ? `b${String(i.values[0])}` : i instanceof WatermarkEvent ? `w${i.watermark}` : 'end')),
      ['b1', 'w5', 'b2', 'end'],
    )
  })

  it('let an unaligned barrier overtake queued batches on both ends; the receiver reports what it passed', () => {
    const { output, input, deliver } = pair(2)
    input.announce()
    deliver()
    for (let n = 1; n <= 4; n++) output.push(batch(n))
    deliver()
    // Batches 1 and 2 wait at the receiver, 3 and 4 at the sender.
    const barrier = new CheckpointBarrier(1, 0, { kind: 'checkpoint', mode: 'exactly-once', unaligned: true })
    assert.deepEqual(output.queuedRecordBatches().map((b) => b.values[0]), [3, 4])
    output.pushFront(barrier)
    deliver()
    const first = input.peek()
    assert.ok(first instanceof CheckpointBarrier && first.checkpointId === 1)
    assert.deepEqual(input.takeOvertaken(1)?.map((b) => b.values[0]), [1, 2])
    assert.equal(input.takeOvertaken(1), undefined, 'taken once')
    input.poll()
    const rest: number[] = []
    for (let item = input.poll(); item !== undefined; item = input.poll()) {
      rest.push((item as RecordBatch).values[0] as number)
      deliver()
    }
    assert.deepEqual(rest, [1, 2, 3, 4])
  })

  it('drop everything once released', () => {
    const { output, input, deliver, wire } = pair(2)
    input.announce()
    deliver()
    output.release()
    output.push(batch(1))
    assert.equal(wire.length, 0)
    input.release()
    input.deliver(batch(2))
    assert.equal(input.poll(), undefined)
  })
})
