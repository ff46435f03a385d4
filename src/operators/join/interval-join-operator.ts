import type { OutputTag } from '../../api/output-tag.ts'
import type { ProcessJoinContext, ProcessJoinFunctionLike } from '../../api/join-functions.ts'
import { Types } from '../../api/serialization/types.ts'
import { StateError, WeirError } from '../../errors.ts'
import { MapStateDescriptor } from '../../state/descriptors.ts'
import type { MapState } from '../../state/state.ts'
import { NO_TIMESTAMP } from '../../time/time.ts'
import type { InternalTimerService, Timer, Triggerable } from '../../time/timer-service.ts'
import { TimestampedCollector } from '../basic-operators.ts'
import type { TwoInputStreamOperator } from '../stream-operator.ts'
import { AbstractTwoInputUdfOperator } from '../two-input-base.ts'

const CLEANUP_LEFT = 'CLEANUP_LEFT'
const CLEANUP_RIGHT = 'CLEANUP_RIGHT'

/** The bounds of an interval join and where late elements go. */
export interface IntervalJoinConfig<T1, T2> {
  /** A right element joins a left one at time t when its time is in [t + lowerBound, t + upperBound]. */
  lowerBound: number
  upperBound: number
  lowerBoundInclusive: boolean
  upperBoundInclusive: boolean
  leftLateDataTag: OutputTag<T1> | undefined
  rightLateDataTag: OutputTag<T2> | undefined
}

/**
 * Joins two keyed streams on time intervals, as Flink's `IntervalJoinOperator`: each side buffers its
 * elements per key in a map state by timestamp, every new element is joined with the other side's
 * buffered elements in its interval, and an event-time timer drops each buffered element once the
 * watermark shows no element it could still join with can come. Elements behind the watermark are
 * late: they go to the side's late-data tag, or are dropped and counted.
 */
export class IntervalJoinOperator<T1, T2, OUT>
  extends AbstractTwoInputUdfOperator<OUT, ProcessJoinFunctionLike<T1, T2, OUT>>
  implements TwoInputStreamOperator<T1, T2, OUT>, Triggerable<string>
{
  /** Late elements dropped because their side had no late-data tag. */
  numLateRecordsDropped = 0
  private readonly lower: number
  private readonly upper: number
  private left!: MapState<number, T1[]>
  private right!: MapState<number, T2[]>
  private timers!: InternalTimerService<string>
  private collector!: TimestampedCollector<OUT>
  private context!: ProcessJoinContext
  private readonly call: (left: T1, right: T2, ctx: ProcessJoinContext, out: TimestampedCollector<OUT>) => void
  private leftTimestamp = NO_TIMESTAMP
  private rightTimestamp = NO_TIMESTAMP

  constructor(
    fn: ProcessJoinFunctionLike<T1, T2, OUT>,
    private readonly config: IntervalJoinConfig<T1, T2>,
  ) {
    super(fn)
    this.lower = config.lowerBoundInclusive ? config.lowerBound : config.lowerBound + 1
    this.upper = config.upperBoundInclusive ? config.upperBound : config.upperBound - 1
    if (this.lower > this.upper) throw new RangeError(`An interval join needs lower bound <= upper bound, got [${config.lowerBound}, ${config.upperBound}]`)
    this.call = typeof fn === 'function' ? fn : fn.processElement.bind(fn)
  }

  override open(): void {
    const backend = this.ctx.keyedBackend
    const manager = this.ctx.timeServiceManager
    if (backend === undefined || manager === undefined) throw new StateError(`Interval join '${this.ctx.operatorName}' needs two keyed streams`)
    this.left = backend.getMapState(new MapStateDescriptor<number, T1[]>('LEFT_BUFFER', Types.number))
    this.right = backend.getMapState(new MapStateDescriptor<number, T2[]>('RIGHT_BUFFER', Types.number))
    this.timers = manager.getTimerService('interval-join-cleanup', Types.string, this)
    this.collector = new TimestampedCollector<OUT>((value, timestamp) => this.output.collect(value, timestamp))
    this.context = {
      leftTimestamp: () => this.leftTimestamp,
      rightTimestamp: () => this.rightTimestamp,
      timestamp: () => this.collector.timestamp,
      output: <S>(tag: OutputTag<S>, value: S) => this.output.collectSide(tag, value, this.collector.timestamp),
    }
    super.open()
  }

  processElement1(value: T1, timestamp: number): void {
    this.setKeyOfInput(value, 1)
    if (!this.admit(timestamp)) {
      this.late(this.config.leftLateDataTag, value, timestamp)
      return
    }
    addToBuffer(this.left, timestamp, value)
    for (const [ts, bucket] of this.right.entries()) {
      if (ts < timestamp + this.lower || ts > timestamp + this.upper) continue
      for (const other of bucket) this.emit(value, other, timestamp, ts)
    }
    this.timers.registerEventTimeTimer(CLEANUP_LEFT, this.upper > 0 ? timestamp + this.upper : timestamp)
  }

  processElement2(value: T2, timestamp: number): void {
    this.setKeyOfInput(value, 2)
    if (!this.admit(timestamp)) {
      this.late(this.config.rightLateDataTag, value, timestamp)
      return
    }
    addToBuffer(this.right, timestamp, value)
    // Seen from the right, the interval is mirrored: [t - upper, t - lower].
    for (const [ts, bucket] of this.left.entries()) {
      if (ts < timestamp - this.upper || ts > timestamp - this.lower) continue
      for (const other of bucket) this.emit(other, value, ts, timestamp)
    }
    this.timers.registerEventTimeTimer(CLEANUP_RIGHT, -this.lower > 0 ? timestamp - this.lower : timestamp)
  }

  /** False for a late element; throws for one without a timestamp. */
  private admit(timestamp: number): boolean {
    if (timestamp === NO_TIMESTAMP || Number.isNaN(timestamp)) {
      throw new WeirError('NO_TIMESTAMP', `Interval join '${this.ctx.operatorName}' got an element without a timestamp; both inputs need event time (a WatermarkStrategy with a timestamp assigner)`)
    }
    // At the watermark is late too: a watermark t says no element at or before t will come, and the
    // cleanup timer at t may already have dropped elements such an element should join (Flink admits it).
    return timestamp > this.currentWatermark
  }

  private late<T>(tag: OutputTag<T> | undefined, value: T, timestamp: number): void {
    if (tag !== undefined) this.output.collectSide(tag, value, timestamp)
    else this.numLateRecordsDropped++
  }

  private emit(left: T1, right: T2, leftTimestamp: number, rightTimestamp: number): void {
    this.leftTimestamp = leftTimestamp
    this.rightTimestamp = rightTimestamp
    this.collector.timestamp = Math.max(leftTimestamp, rightTimestamp)
    this.call(left, right, this.context, this.collector)
  }

  onEventTime(timer: Timer<string>): void {
    // The timer times were shifted from the element times by the bound; undo the shift.
    if (timer.namespace === CLEANUP_LEFT) this.left.remove(this.upper <= 0 ? timer.timestamp : timer.timestamp - this.upper)
    else if (timer.namespace === CLEANUP_RIGHT) this.right.remove(this.lower <= 0 ? timer.timestamp + this.lower : timer.timestamp)
  }

  onProcessingTime(): void {}
}

function addToBuffer<T>(buffer: MapState<number, T[]>, timestamp: number, value: T): void {
  const bucket = buffer.get(timestamp)
  // A new array each time: the state may hand out its stored array, and snapshots may still hold it.
  buffer.put(timestamp, bucket === undefined ? [value] : [...bucket, value])
}
