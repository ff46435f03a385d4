import { JobGraphError } from '../errors.ts'
import { cloneFunction } from '../operators/abstract-stream-operator.ts'
import { IntervalJoinOperator, type IntervalJoinConfig } from '../operators/join/interval-join-operator.ts'
import type { DataStream } from './data-stream.ts'
import type { ProcessJoinFunctionLike } from './join-functions.ts'
import type { KeyedStream } from './keyed-stream.ts'
import type { OutputTag } from './output-tag.ts'

/** `left.intervalJoin(right)`: set the interval with `between`. */
export class IntervalJoin<T1, T2, K> {
  constructor(
    private readonly left: KeyedStream<T1, K>,
    private readonly right: KeyedStream<T2, K>,
  ) {}

  /**
   * Joins a left element at time t with the right elements of the same key whose times are in
   * [t + lowerMs, t + upperMs] (both bounds inclusive unless made exclusive). Needs event time.
   */
  between(lowerMs: number, upperMs: number): IntervalJoined<T1, T2, K> {
    if (!Number.isFinite(lowerMs) || !Number.isFinite(upperMs)) throw new JobGraphError(`between() needs finite bounds, got ${lowerMs} and ${upperMs}`)
    if (lowerMs > upperMs) throw new JobGraphError(`between() needs lower <= upper, got ${lowerMs} > ${upperMs}`)
    return new IntervalJoined(this.left, this.right, lowerMs, upperMs)
  }
}

/** An interval join with its bounds; `process` adds it. */
export class IntervalJoined<T1, T2, K> {
  private lowerInclusive = true
  private upperInclusive = true
  private leftLateTag: OutputTag<T1> | undefined
  private rightLateTag: OutputTag<T2> | undefined

  constructor(
    private readonly left: KeyedStream<T1, K>,
    private readonly right: KeyedStream<T2, K>,
    private readonly lower: number,
    private readonly upper: number,
  ) {}

  /** Excludes the lower bound from the interval. */
  lowerBoundExclusive(): this {
    this.lowerInclusive = false
    return this
  }

  /** Excludes the upper bound from the interval. */
  upperBoundExclusive(): this {
    this.upperInclusive = false
    return this
  }

  /** Sends left elements that arrive behind the watermark to `tag` instead of dropping them. */
  sideOutputLeftLateData(tag: OutputTag<T1>): this {
    this.leftLateTag = tag
    return this
  }

  /** Sends right elements that arrive behind the watermark to `tag` instead of dropping them. */
  sideOutputRightLateData(tag: OutputTag<T2>): this {
    this.rightLateTag = tag
    return this
  }

  /** Calls `fn` for every joined pair; results carry the larger of the two timestamps. */
  process<R>(fn: ProcessJoinFunctionLike<T1, T2, R>, name = 'IntervalJoin'): DataStream<R> {
    const config: IntervalJoinConfig<T1, T2> = {
      lowerBound: this.lower,
      upperBound: this.upper,
      lowerBoundInclusive: this.lowerInclusive,
      upperBoundInclusive: this.upperInclusive,
      leftLateDataTag: this.leftLateTag,
      rightLateDataTag: this.rightLateTag,
    }
    // Checked here so a bad interval fails while the job is built, not in every subtask.
    new IntervalJoinOperator(fn, config)
    return this.left.connect(this.right).transform<R>(name, () => new IntervalJoinOperator(cloneFunction(fn), config))
  }
}
