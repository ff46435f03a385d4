import { ListStateDescriptor } from '../../state/descriptors.ts'
import type { InternalListState, KeyedStateBackend } from '../../state/keyed-state-backend.ts'
import type { Evictor, EvictorContext, TimestampedValue } from '../../time/windows/evictors/evictor.ts'
import type { Window } from '../../time/windows/window.ts'
import { AbstractWindowOperator, type WindowOperatorConfig } from './abstract-window-operator.ts'
import type { InternalWindowFunction } from './internal-window-function.ts'
import { timestampedListContents, type WindowContents } from './window-contents.ts'

/**
 * A window operator with an evictor: keeps every element with its timestamp, lets the evictor
 * remove some before and after the window function runs, and keeps what is left.
 */
export class EvictingWindowOperator<K, IN, OUT, W extends Window> extends AbstractWindowOperator<
  K,
  IN,
  TimestampedValue<IN>[],
  OUT,
  W,
  InternalWindowFunction<IN[], OUT, K, W>
> {
  private list!: InternalListState<W, TimestampedValue<IN>>
  private readonly evictorContext: EvictorContext = {
    currentProcessingTime: () => this.timers.currentProcessingTime(),
    currentWatermark: () => this.timers.currentWatermark(),
  }

  constructor(
    private readonly evictor: Evictor<IN, W>,
    windowFunction: InternalWindowFunction<IN[], OUT, K, W>,
    config: WindowOperatorConfig<IN, W>,
  ) {
    super(windowFunction, config)
  }

  protected createContents(backend: KeyedStateBackend): WindowContents<IN, TimestampedValue<IN>[], W> {
    this.list = backend.getListState(new ListStateDescriptor<TimestampedValue<IN>>('window-contents'), this.windowSerializer)
    return timestampedListContents(this.list)
  }

  protected emitWindowContents(window: W, contents: TimestampedValue<IN>[]): void {
    this.evictor.evictBefore(contents, window, this.evictorContext)
    this.collector.timestamp = window.maxTimestamp()
    this.processContext.window = window
    this.userFunction.process(
      this.currentKey(),
      this.processContext,
      contents.map((e) => e.value),
      this.collector,
    )
    this.evictor.evictAfter(contents, window, this.evictorContext)
    // The list handed out was a copy: write back what the evictor kept.
    this.list.update(contents)
  }
}
