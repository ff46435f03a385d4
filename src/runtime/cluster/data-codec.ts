import { Packr } from 'msgpackr'
import { internalPackr } from '../../api/serialization/types.ts'
import { WeirError } from '../../errors.ts'
import { NO_TIMESTAMP } from '../../time/time.ts'
import { CheckpointBarrier, EndOfPartition, RecordBatch, WatermarkEvent, WatermarkStatusEvent, type ChannelItem, type CheckpointOptions } from '../io/stream-element.ts'
import { allocFrame, FrameType, frameOf, LENGTH_BYTES } from './frames.ts'

/**
 * Frames of the data plane. Each names its channel by the attempt's stream number (unique per
 * deployment in a cluster) and the channel's index in the job's channel plan.
 *
 * ```
 * credit: u32 stream, u32 channel, u32 credits
 * batch:  u32 stream, u32 channel, u32 count, u8 timestamps, u8 values, [timestamps], [values]
 * event:  u32 stream, u32 channel, u8 kind, [payload]
 * ```
 *
 * Timestamps are either absent (no record has one) or f64 each. Values are i32 each when every
 * value is a 32-bit integer and f64 each when every value is a number (numeric pipelines: 4 or 8
 * bytes a record, no per-value type dispatch, and decoded integers are small integers again, so
 * the consuming task sees the same kind of array from a network channel as from a local one),
 * else one msgpack array in which objects are records: each distinct shape is
 * described once per batch, not once per object, which halves the bytes and the time for the
 * usual batch of same-shaped events, and keeps maps apart from objects, so a record arrives as
 * it would through a local channel (maps, sets, dates, bigints, undefined and shared references
 * included). Every frame describes its own shapes, so frames decode independently.
 */

const TIMESTAMPS_NONE = 0
const TIMESTAMPS_F64 = 1
const VALUES_F64 = 0
const VALUES_MSGPACK = 1
const VALUES_I32 = 2

const EVENT_WATERMARK = 1
const EVENT_STATUS = 2
const EVENT_BARRIER = 3
const EVENT_END = 4

// No shared structures: each pack carries the record shapes it uses.
const recordPackr = new Packr({ useRecords: true, moreTypes: true, structuredClone: true, largeBigIntToFloat: false, int64AsType: 'bigint' })

/** Offset of the body in a frame: length prefix and type byte. */
const BODY = LENGTH_BYTES + 1
const ADDRESS_BYTES = 8

/** A decoded data frame. */
export type DataFrame =
  | { type: 'credit'; stream: number; channel: number; credits: number }
  | { type: 'item'; stream: number; channel: number; item: ChannelItem }

/** A credit announcement. */
export function encodeCredit(stream: number, channel: number, credits: number): Buffer {
  const frame = allocFrame(FrameType.credit, ADDRESS_BYTES + 4)
  frame.writeUInt32LE(stream, BODY)
  frame.writeUInt32LE(channel, BODY + 4)
  frame.writeUInt32LE(credits, BODY + 8)
  return frame
}

/** The narrowest encoding that holds every value exactly. */
function valueEncoding(values: readonly unknown[]): number {
  let int32 = true
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (typeof v !== 'number') return VALUES_MSGPACK
    if (int32 && ((v | 0) !== v || Object.is(v, -0))) int32 = false
  }
  return int32 ? VALUES_I32 : VALUES_F64
}

function anyTimestamp(timestamps: readonly number[]): boolean {
  for (let i = 0; i < timestamps.length; i++) if (timestamps[i] !== NO_TIMESTAMP) return true
  return false
}

/** A batch of records on a channel. */
export function encodeBatch(stream: number, channel: number, batch: RecordBatch): Buffer {
  const { values, timestamps } = batch
  const n = values.length
  const withTimestamps = anyTimestamp(timestamps)
  const encoding = valueEncoding(values)
  const packed = encoding === VALUES_MSGPACK ? recordPackr.pack(values) : undefined
  const header = ADDRESS_BYTES + 4 + 2
  const tsBytes = withTimestamps ? n * 8 : 0
  const valueBytes = packed ? packed.length : encoding === VALUES_I32 ? n * 4 : n * 8
  const frame = allocFrame(FrameType.batch, header + tsBytes + valueBytes)
  let at = BODY
  frame.writeUInt32LE(stream, at)
  frame.writeUInt32LE(channel, at + 4)
  frame.writeUInt32LE(n, at + 8)
  frame[at + 12] = withTimestamps ? TIMESTAMPS_F64 : TIMESTAMPS_NONE
  frame[at + 13] = encoding
  at += header
  if (withTimestamps) for (let i = 0; i < n; i++, at += 8) frame.writeDoubleLE(timestamps[i], at)
  if (packed) packed.copy(frame, at)
  else if (encoding === VALUES_I32) for (let i = 0; i < n; i++, at += 4) frame.writeInt32LE(values[i] as number, at)
  else for (let i = 0; i < n; i++, at += 8) frame.writeDoubleLE(values[i] as number, at)
  return frame
}

/** A control event on a channel. */
export function encodeEvent(stream: number, channel: number, item: ChannelItem): Buffer {
  let kind: number
  let payload: Buffer
  if (item instanceof WatermarkEvent) {
    kind = EVENT_WATERMARK
    payload = Buffer.allocUnsafe(8)
    payload.writeDoubleLE(item.watermark, 0)
  } else if (item instanceof WatermarkStatusEvent) {
    kind = EVENT_STATUS
    payload = Buffer.of(item.idle ? 1 : 0)
  } else if (item instanceof CheckpointBarrier) {
    kind = EVENT_BARRIER
    const options = internalPackr.pack(item.options)
    payload = Buffer.allocUnsafe(16 + options.length)
    payload.writeDoubleLE(item.checkpointId, 0)
    payload.writeDoubleLE(item.timestamp, 8)
    options.copy(payload, 16)
  } else if (item instanceof EndOfPartition) {
    kind = EVENT_END
    payload = Buffer.of(item.stopped ? 1 : 0)
  } else {
    throw new WeirError('INTERNAL', `Not a channel event: ${String(item)}`)
  }
  const body = Buffer.allocUnsafe(ADDRESS_BYTES + 1 + payload.length)
  body.writeUInt32LE(stream, 0)
  body.writeUInt32LE(channel, 4)
  body[8] = kind
  payload.copy(body, 9)
  return frameOf(FrameType.event, body)
}

/** Decodes a credit, batch or event frame (`frame` starts at the type byte). */
export function decodeDataFrame(frame: Buffer): DataFrame {
  const type = frame[0]
  const stream = frame.readUInt32LE(1)
  const channel = frame.readUInt32LE(5)
  let at = 9
  if (type === FrameType.credit) return { type: 'credit', stream, channel, credits: frame.readUInt32LE(at) }
  if (type === FrameType.batch) {
    const n = frame.readUInt32LE(at)
    const tsKind = frame[at + 4]
    const valueKind = frame[at + 5]
    at += 6
    // Arrays are filled by push so they are packed, as the ones local channels carry: a task's
    // loop over a batch then sees one kind of array, whichever channel it came from.
    const timestamps: number[] = []
    if (tsKind === TIMESTAMPS_F64) for (let i = 0; i < n; i++, at += 8) timestamps.push(frame.readDoubleLE(at))
    else for (let i = 0; i < n; i++) timestamps.push(NO_TIMESTAMP)
    let values: unknown[]
    if (valueKind === VALUES_I32) {
      values = []
      for (let i = 0; i < n; i++, at += 4) values.push(frame.readInt32LE(at))
    } else if (valueKind === VALUES_F64) {
      values = []
      for (let i = 0; i < n; i++, at += 8) values.push(frame.readDoubleLE(at))
    } else {
      values = recordPackr.unpack(frame.subarray(at)) as unknown[]
    }
    return { type: 'item', stream, channel, item: new RecordBatch(values, timestamps) }
  }
  if (type === FrameType.event) {
    const kind = frame[at]
    at++
    let item: ChannelItem
    if (kind === EVENT_WATERMARK) item = new WatermarkEvent(frame.readDoubleLE(at))
    else if (kind === EVENT_STATUS) item = frame[at] === 1 ? WatermarkStatusEvent.IDLE : WatermarkStatusEvent.ACTIVE
    else if (kind === EVENT_BARRIER) item = new CheckpointBarrier(frame.readDoubleLE(at), frame.readDoubleLE(at + 8), internalPackr.unpack(frame.subarray(at + 16)) as CheckpointOptions)
    else if (kind === EVENT_END) item = frame[at] === 1 ? EndOfPartition.STOPPED : EndOfPartition.INSTANCE
    else throw new WeirError('PROTOCOL_ERROR', `Unknown channel event kind ${kind}`)
    return { type: 'item', stream, channel, item }
  }
  throw new WeirError('PROTOCOL_ERROR', `Unknown data frame type ${type}`)
}
