import type {
  BroadcastProcessContext,
  BroadcastProcessFunction,
  KeyedBroadcastContext,
  KeyedBroadcastProcessFunction,
  ReadOnlyBroadcastContext,
  ReadOnlyBroadcastProcessContext,
} from '../api/broadcast-functions.ts'
import type { OutputTag } from '../api/output-tag.ts'
import { StateError } from '../errors.ts'
import type { MapStateDescriptor, StateDescriptor } from '../state/descriptors.ts'
import { VOID_NAMESPACE, type VoidNamespace } from '../state/keyed-state-backend.ts'
import type { BroadcastState } from '../state/state.ts'
import { voidNamespaceSerializer } from '../state/void-namespace-serializer.ts'
import { NO_TIMESTAMP } from '../time/time.ts'
import type { Timer, Triggerable } from '../time/timer-service.ts'
import { TimestampedCollector } from './basic-operators.ts'
import { clocksOnly, keyedTimerService } from './process-operators.ts'
import type { TwoInputStreamOperator } from './stream-operator.ts'
import { AbstractTwoInputUdfOperator } from './two-input-base.ts'

/** Broadcast states of an operator, checked against the descriptors given to `broadcast()`. */
function broadcastStateGetter(
  operator: { ctx(): import('./stream-operator.ts').OperatorContext },
  descriptors: readonly MapStateDescriptor<unknown, unknown>[],
): <K, V>(d: MapStateDescriptor<K, V>) => BroadcastState<K, V> {
  return <K, V>(d: MapStateDescriptor<K, V>) => {
    if (!descriptors.some((x) => x.name === d.name)) {
      throw new StateError(`Broadcast state '${d.name}' was not declared in broadcast(...); declared: ${descriptors.map((x) => `'${x.name}'`).join(', ') || 'none'}`)
    }
    return operator.ctx().operatorBackend.getBroadcastState(d)
  }
}

/** Runs a `KeyedBroadcastProcessFunction`: input 1 is keyed, input 2 is the broadcast side. */
export class KeyedBroadcastProcessOperator<K, IN, BC, OUT>
  extends AbstractTwoInputUdfOperator<OUT, KeyedBroadcastProcessFunction<K, IN, BC, OUT>>
  implements TwoInputStreamOperator<IN, BC, OUT>, Triggerable<VoidNamespace>
{
  private collector!: TimestampedCollector<OUT>
  private readContext!: ReadOnlyBroadcastContext<K> & { timeDomain(): 'event-time' | 'processing-time' }
  private writeContext!: KeyedBroadcastContext
  private timestamp = NO_TIMESTAMP
  private domain: 'event-time' | 'processing-time' = 'event-time'

  constructor(
    fn: KeyedBroadcastProcessFunction<K, IN, BC, OUT>,
    private readonly descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {
    super(fn)
  }

  override open(): void {
    this.collector = new TimestampedCollector<OUT>((v, ts) => this.output.collect(v, ts))
    const timers = keyedTimerService(this.ctx.timeServiceManager!.getTimerService('user-timers', voidNamespaceSerializer, this))
    const backend = this.ctx.keyedBackend!
    const getBroadcast = broadcastStateGetter({ ctx: () => this.ctx }, this.descriptors)
    const timestamp = (): number | undefined => (this.timestamp === NO_TIMESTAMP ? undefined : this.timestamp)
    const output = <S>(tag: OutputTag<S>, value: S): void => this.output.collectSide(tag, value, this.timestamp)
    this.readContext = {
      timestamp,
      output,
      timerService: () => timers,
      getCurrentKey: () => backend.getCurrentKey() as K,
      getBroadcastState: getBroadcast,
      timeDomain: () => this.domain,
    }
    this.writeContext = {
      timestamp,
      output,
      timerService: () => clocksOnly(() => this.ctx.processingTime.now(), () => this.currentWatermark, this.ctx.operatorName),
      getBroadcastState: getBroadcast,
      applyToKeyedState: (descriptor: StateDescriptor, fn: (key: unknown) => void) => backend.applyToAllKeys(VOID_NAMESPACE, descriptor, fn),
    }
    super.open()
  }

  processElement1(value: IN, timestamp: number): void {
    this.setKeyOfInput(value, 1)
    this.timestamp = this.collector.timestamp = timestamp
    this.userFunction.processElement(value, this.readContext, this.collector)
  }

  processElement2(value: BC, timestamp: number): void {
    this.timestamp = this.collector.timestamp = timestamp
    this.userFunction.processBroadcastElement(value, this.writeContext, this.collector)
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
    this.userFunction.onTimer(timer.timestamp, this.readContext, this.collector)
  }
}

/** Runs a `BroadcastProcessFunction`: input 1 is a plain stream, input 2 the broadcast side. */
export class BroadcastProcessOperator<IN, BC, OUT>
  extends AbstractTwoInputUdfOperator<OUT, BroadcastProcessFunction<IN, BC, OUT>>
  implements TwoInputStreamOperator<IN, BC, OUT>
{
  private collector!: TimestampedCollector<OUT>
  private readContext!: ReadOnlyBroadcastProcessContext
  private writeContext!: BroadcastProcessContext
  private timestamp = NO_TIMESTAMP

  constructor(
    fn: BroadcastProcessFunction<IN, BC, OUT>,
    private readonly descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {
    super(fn)
  }

  override open(): void {
    this.collector = new TimestampedCollector<OUT>((v, ts) => this.output.collect(v, ts))
    const getBroadcast = broadcastStateGetter({ ctx: () => this.ctx }, this.descriptors)
    const timers = clocksOnly(() => this.ctx.processingTime.now(), () => this.currentWatermark, this.ctx.operatorName)
    const base = {
      timestamp: (): number | undefined => (this.timestamp === NO_TIMESTAMP ? undefined : this.timestamp),
      output: <S>(tag: OutputTag<S>, value: S): void => this.output.collectSide(tag, value, this.timestamp),
      timerService: () => timers,
      getBroadcastState: getBroadcast,
    }
    this.readContext = base
    this.writeContext = base
    super.open()
  }

  processElement1(value: IN, timestamp: number): void {
    this.timestamp = this.collector.timestamp = timestamp
    this.userFunction.processElement(value, this.readContext, this.collector)
  }

  processElement2(value: BC, timestamp: number): void {
    this.timestamp = this.collector.timestamp = timestamp
    this.userFunction.processBroadcastElement(value, this.writeContext, this.collector)
  }
}
