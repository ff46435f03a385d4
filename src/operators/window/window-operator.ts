import { StateError } from '../../errors.ts'
import type { AggregatingStateDescriptor, ListStateDescriptor, ReducingStateDescriptor } from '../../state/descriptors.ts'
import type { KeyedStateBackend } from '../../state/keyed-state-backend.ts'
import type { Window } from '../../time/windows/window.ts'
import { AbstractWindowOperator, type WindowOperatorConfig } from './abstract-window-operator.ts'
import type { InternalWindowFunction } from './internal-window-function.ts'
import { accumulatingContents, listContents, type WindowContents } from './window-contents.ts'

/** The state of a window's contents: all elements (list), or a reduce or aggregate accumulator. */
export type WindowContentsDescriptor<IN> = ListStateDescriptor<IN> | ReducingStateDescriptor<IN> | AggregatingStateDescriptor<IN, unknown, unknown>

/**
 * A window operator without evictor. With a reducing or aggregating contents state, each window keeps
 * one accumulator that every element updates; with a list state it keeps every element.
 */
export class WindowOperator<K, IN, ACC, OUT, W extends Window> extends AbstractWindowOperator<K, IN, ACC, OUT, W, InternalWindowFunction<ACC, OUT, K, W>> {
  constructor(
    private readonly contentsDescriptor: WindowContentsDescriptor<IN>,
    windowFunction: InternalWindowFunction<ACC, OUT, K, W>,
    config: WindowOperatorConfig<IN, W>,
  ) {
    super(windowFunction, config)
  }

  protected createContents(backend: KeyedStateBackend): WindowContents<IN, ACC, W> {
    const d = this.contentsDescriptor
    switch (d.kind) {
      case 'list':
        return listContents(backend.getListState<W, IN>(d, this.windowSerializer)) as WindowContents<IN, unknown, W> as WindowContents<IN, ACC, W>
      case 'reducing':
        return accumulatingContents<IN, ACC, W>(backend.getReducingState<W, IN>(d, this.windowSerializer))
      case 'aggregating':
        return accumulatingContents<IN, ACC, W>(backend.getAggregatingState<W, IN, unknown, ACC>(d as AggregatingStateDescriptor<IN, unknown, ACC>, this.windowSerializer))
      default:
        throw new StateError(`Window contents need a list, reducing or aggregating state`)
    }
  }

  protected emitWindowContents(window: W, contents: ACC): void {
    this.collector.timestamp = window.maxTimestamp()
    this.processContext.window = window
    this.userFunction.process(this.currentKey(), this.processContext, contents, this.collector)
  }
}
