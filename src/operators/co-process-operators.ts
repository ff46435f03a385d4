import type { CoProcessFunction, KeyedCoProcessFunction, OnTimerContext, ProcessContext } from '../api/functions.ts'
import type { OutputTag } from '../api/output-tag.ts'
import type { VoidNamespace } from '../state/keyed-state-backend.ts'
import { voidNamespaceSerializer } from '../state/void-namespace-serializer.ts'
import { NO_TIMESTAMP } from '../time/time.ts'
import type { Timer, Triggerable } from '../time/timer-service.ts'
import { TimestampedCollector } from './basic-operators.ts'
import { clocksOnly, keyedTimerService } from './process-operators.ts'
import type { TwoInputStreamOperator } from './stream-operator.ts'
import { AbstractTwoInputUdfOperator } from './two-input-base.ts'

/** Runs a `CoProcessFunction` on two non-keyed streams. */
export class CoProcessOperator<IN1, IN2, OUT>
  extends AbstractTwoInputUdfOperator<OUT, CoProcessFunction<IN1, IN2, OUT>>
  implements TwoInputStreamOperator<IN1, IN2, OUT>
{
  private collector!: TimestampedCollector<OUT>
  private context!: ProcessContext
  private timestamp = NO_TIMESTAMP

  override open(): void {
    this.collector = new TimestampedCollector<OUT>((v, ts) => this.output.collect(v, ts))
    const timers = clocksOnly(() => this.ctx.processingTime.now(), () => this.currentWatermark, this.ctx.operatorName)
    this.context = {
      timestamp: () => (this.timestamp === NO_TIMESTAMP ? undefined : this.timestamp),
      output: <S>(tag: OutputTag<S>, value: S) => this.output.collectSide(tag, value, this.timestamp),
      timerService: () => timers,
    }
    super.open()
  }

  processElement1(value: IN1, timestamp: number): void {
    this.timestamp = this.collector.timestamp = timestamp
    this.userFunction.processElement1(value, this.context, this.collector)
  }

  processElement2(value: IN2, timestamp: number): void {
    this.timestamp = this.collector.timestamp = timestamp
    this.userFunction.processElement2(value, this.context, this.collector)
  }
}

/** Runs a `KeyedCoProcessFunction` on two keyed streams: shared keyed state and timers. */
export class KeyedCoProcessOperator<K, IN1, IN2, OUT>
  extends AbstractTwoInputUdfOperator<OUT, KeyedCoProcessFunction<K, IN1, IN2, OUT>>
  implements TwoInputStreamOperator<IN1, IN2, OUT>, Triggerable<VoidNamespace>
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

  processElement1(value: IN1, timestamp: number): void {
    this.setKeyOfInput(value, 1)
    this.timestamp = this.collector.timestamp = timestamp
    this.userFunction.processElement1(value, this.context, this.collector)
  }

  processElement2(value: IN2, timestamp: number): void {
    this.setKeyOfInput(value, 2)
    this.timestamp = this.collector.timestamp = timestamp
    this.userFunction.processElement2(value, this.context, this.collector)
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
    this.timestamp = domain === 'event-time' ? timer.timestamp : NO_TIMESTAMP
    this.collector.timestamp = this.timestamp
    this.userFunction.onTimer(timer.timestamp, this.context, this.collector)
  }
}
