import type { KeyedProcessFunction, OnTimerContext, ProcessContext, ProcessFunction, TimerService } from '../api/functions.ts'
import type { OutputTag } from '../api/output-tag.ts'
import { StateError } from '../errors.ts'
import { VOID_NAMESPACE, type VoidNamespace } from '../state/keyed-state-backend.ts'
import { voidNamespaceSerializer } from '../state/void-namespace-serializer.ts'
import { NO_TIMESTAMP } from '../time/time.ts'
import type { InternalTimerService, Timer, Triggerable } from '../time/timer-service.ts'
import { AbstractUdfOperator } from './abstract-stream-operator.ts'
import { TimestampedCollector } from './basic-operators.ts'
import type { OneInputStreamOperator } from './stream-operator.ts'

/** Timer access for functions on non-keyed streams: clocks only. */
export function clocksOnly(now: () => number, watermark: () => number, operatorName: string): TimerService {
  const refuse = (): never => {
    throw new StateError(`Operator '${operatorName}' is not on a keyed stream: timers need keyBy() before it`)
  }
  return {
    currentProcessingTime: now,
    currentWatermark: watermark,
    registerEventTimeTimer: refuse,
    registerProcessingTimeTimer: refuse,
    deleteEventTimeTimer: refuse,
    deleteProcessingTimeTimer: refuse,
  }
}

/** The user-facing timer service of a keyed operator, over its internal timers in the void namespace. */
export function keyedTimerService(timers: InternalTimerService<VoidNamespace>): TimerService {
  return {
    currentProcessingTime: () => timers.currentProcessingTime(),
    currentWatermark: () => timers.currentWatermark(),
    registerEventTimeTimer: (t) => timers.registerEventTimeTimer(VOID_NAMESPACE, t),
    registerProcessingTimeTimer: (t) => timers.registerProcessingTimeTimer(VOID_NAMESPACE, t),
    deleteEventTimeTimer: (t) => timers.deleteEventTimeTimer(VOID_NAMESPACE, t),
    deleteProcessingTimeTimer: (t) => timers.deleteProcessingTimeTimer(VOID_NAMESPACE, t),
  }
}

/** Runs a `ProcessFunction` on a non-keyed stream. */
export class ProcessOperator<IN, OUT> extends AbstractUdfOperator<OUT, ProcessFunction<IN, OUT>> implements OneInputStreamOperator<IN, OUT> {
  private collector!: TimestampedCollector<OUT>
  private context!: ProcessContext
  private timestamp = NO_TIMESTAMP

  override open(): void {
    this.collector = new TimestampedCollector<OUT>((v, ts) => this.output.collect(v, ts))
    const timers = clocksOnly(
      () => this.ctx.processingTime.now(),
      () => this.currentWatermark,
      this.ctx.operatorName,
    )
    this.context = {
      timestamp: () => (this.timestamp === NO_TIMESTAMP ? undefined : this.timestamp),
      output: <S>(tag: OutputTag<S>, value: S) => this.output.collectSide(tag, value, this.timestamp),
      timerService: () => timers,
    }
    super.open()
  }

  processElement(value: IN, timestamp: number): void {
    this.timestamp = timestamp
    this.collector.timestamp = timestamp
    this.userFunction.processElement(value, this.context, this.collector)
  }
}

/** Runs a `KeyedProcessFunction`: keyed state, timers, side outputs. */
export class KeyedProcessOperator<K, IN, OUT>
  extends AbstractUdfOperator<OUT, KeyedProcessFunction<K, IN, OUT>>
  implements OneInputStreamOperator<IN, OUT>, Triggerable<VoidNamespace>
{
  private collector!: TimestampedCollector<OUT>
  private context!: OnTimerContext<K>
  private timestamp = NO_TIMESTAMP
  private domain: 'event-time' | 'processing-time' = 'event-time'

  override open(): void {
    this.collector = new TimestampedCollector<OUT>((v, ts) => this.output.collect(v, ts))
    const timers = keyedTimerService(this.ctx.timeServiceManager!.getTimerService('user-timers', voidNamespaceSerializer, this))
    const backend = this.ctx.keyedBackend!
    this.context = {
      timestamp: () => (this.timestamp === NO_TIMESTAMP ? undefined : this.timestamp),
      output: <S>(tag: OutputTag<S>, value: S) => this.output.collectSide(tag, value, this.timestamp),
      timerService: () => timers,
      getCurrentKey: () => backend.getCurrentKey() as K,
      timeDomain: () => this.domain,
    }
    super.open()
  }

  processElement(value: IN, timestamp: number): void {
    this.setKeyOf(value)
    this.timestamp = timestamp
    this.collector.timestamp = timestamp
    this.userFunction.processElement(value, this.context, this.collector)
  }

  onEventTime(timer: Timer<VoidNamespace>): void {
    this.fire(timer, 'event-time')
  }

  onProcessingTime(timer: Timer<VoidNamespace>): void {
    this.fire(timer, 'processing-time')
  }

  private fire(timer: Timer<VoidNamespace>, domain: 'event-time' | 'processing-time'): void {
    if (!this.userFunction.onTimer) return
    this.domain = domain
    // Records emitted from an event-time timer carry the timer's time, as in Flink.
    this.timestamp = domain === 'event-time' ? timer.timestamp : NO_TIMESTAMP
    this.collector.timestamp = this.timestamp
    this.userFunction.onTimer(timer.timestamp, this.context, this.collector)
  }
}
