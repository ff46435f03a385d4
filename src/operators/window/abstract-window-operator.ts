import type { OutputTag } from '../../api/output-tag.ts'
import type { RichFunction } from '../../api/functions.ts'
import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { ProcessWindowContext } from '../../api/window-functions.ts'
import { StateError, WeirError } from '../../errors.ts'
import { ListStateDescriptor } from '../../state/descriptors.ts'
import type { KeyedStateBackend } from '../../state/keyed-state-backend.ts'
import type { ListState } from '../../state/state.ts'
import type { InternalTimerService, Timer, Triggerable } from '../../time/timer-service.ts'
import { isFire, isPurge, type TriggerResult } from '../../time/windows/triggers/trigger.ts'
import { isMergingAssigner, type MergingWindowAssigner, type WindowAssigner, type WindowAssignerContext } from '../../time/windows/window-assigner.ts'
import type { Window } from '../../time/windows/window.ts'
import type { Trigger } from '../../time/windows/triggers/trigger.ts'
import { AbstractUdfOperator } from '../abstract-stream-operator.ts'
import { TimestampedCollector } from '../basic-operators.ts'
import { keyedStateStoreOf } from '../runtime-context-impl.ts'
import type { OneInputStreamOperator } from '../stream-operator.ts'
import { MergingWindowSet, windowPairSerializer } from './merging-window-set.ts'
import type { WindowContents } from './window-contents.ts'
import { WindowProcessContext } from './window-process-context.ts'
import { WindowTriggerContext } from './window-trigger-context.ts'

/** How a window operator assigns, fires and expires windows. */
export interface WindowOperatorConfig<IN, W extends Window> {
  assigner: WindowAssigner<IN, W>
  trigger: Trigger<IN, W>
  /** How long after a window's end (in event time) late elements still update it. */
  allowedLateness: number
  /** Where elements go that arrive after their windows' lateness; dropped (and counted) without. */
  lateDataTag: OutputTag<IN> | undefined
}

/** What every window function wrapper has: life-cycle hooks and a per-window clear. */
export interface WindowFunctionBase<W extends Window> extends RichFunction {
  clear(context: ProcessWindowContext<W>): void
}

/** A window that never ends: no cleanup timer is set for it. */
const NEVER = Number.MAX_SAFE_INTEGER

/**
 * The window operator: assigns each element to windows, keeps their contents in keyed state
 * namespaced by window, asks the trigger when to fire and purge, and drops a window's state once
 * the watermark (or clock) passes its end plus the allowed lateness. Merging assigners (sessions)
 * keep a `MergingWindowSet` per key in keyed state. Subclasses decide what the contents are and
 * how they are handed to the window function.
 */
export abstract class AbstractWindowOperator<K, IN, ACC, OUT, W extends Window, F extends WindowFunctionBase<W>>
  extends AbstractUdfOperator<OUT, F>
  implements OneInputStreamOperator<IN, OUT>, Triggerable<W>
{
  /** Elements dropped because they came after their windows' allowed lateness and no late-data tag was set. */
  numLateRecordsDropped = 0
  protected readonly assigner: WindowAssigner<IN, W>
  protected readonly windowSerializer: TypeSerializer<W>
  protected contents!: WindowContents<IN, ACC, W>
  protected timers!: InternalTimerService<W>
  protected processContext!: WindowProcessContext<W>
  protected collector!: TimestampedCollector<OUT>
  private triggerContext!: WindowTriggerContext<IN, W>
  private mergingSetState: ListState<[W, W]> | undefined
  private readonly merging: MergingWindowAssigner<IN, W> | undefined
  private readonly eventTime: boolean
  private readonly assignerContext: WindowAssignerContext

  constructor(
    windowFunction: F,
    protected readonly config: WindowOperatorConfig<IN, W>,
  ) {
    super(windowFunction)
    if (!(config.allowedLateness >= 0)) throw new RangeError(`The allowed lateness must be >= 0 ms, got ${config.allowedLateness}`)
    this.assigner = config.assigner
    this.windowSerializer = config.assigner.getWindowSerializer()
    this.merging = isMergingAssigner(config.assigner) ? config.assigner : undefined
    if (this.merging && !(config.trigger.canMerge?.() ?? false)) {
      throw new WeirError('INVALID_WINDOW', `The trigger ${String(config.trigger)} cannot merge windows, so it cannot be used with ${String(config.assigner)}`)
    }
    this.eventTime = config.assigner.isEventTime()
    this.assignerContext = { currentProcessingTime: () => this.ctx.processingTime.now() }
  }

  /** The state that holds each window's contents. */
  protected abstract createContents(backend: KeyedStateBackend): WindowContents<IN, ACC, W>

  /** Runs the window function over a firing window's contents (the namespace is set to its state window). */
  protected abstract emitWindowContents(window: W, contents: ACC): void

  override open(): void {
    const backend = this.ctx.keyedBackend
    const manager = this.ctx.timeServiceManager
    if (backend === undefined || manager === undefined) throw new StateError(`Window operator '${this.ctx.operatorName}' must run on a keyed stream: call keyBy() before window()`)
    this.timers = manager.getTimerService('window-timers', this.windowSerializer, this)
    this.contents = this.createContents(backend)
    this.triggerContext = new WindowTriggerContext(this.config.trigger, backend, this.timers, this.windowSerializer)
    this.processContext = new WindowProcessContext(backend, this.timers, this.windowSerializer, keyedStateStoreOf(this.ctx)!, this.output, this.merging !== undefined)
    this.collector = new TimestampedCollector<OUT>((value, timestamp) => this.output.collect(value, timestamp))
    if (this.merging) this.mergingSetState = backend.getListState(new ListStateDescriptor('merging-window-set', windowPairSerializer(this.windowSerializer)))
    super.open()
  }

  processElement(value: IN, timestamp: number): void {
    this.setKeyOf(value)
    const windows = this.assigner.assignWindows(value, timestamp, this.assignerContext)
    let skipped = true
    if (this.merging) {
      const set = this.mergingWindowSet()
      for (const window of windows) {
        const actual = set.addWindow(window, (mergeResult, mergedWindows, stateWindowResult, mergedStateWindows) => {
          this.checkMergeResult(mergeResult)
          this.triggerContext.window = mergeResult
          this.triggerContext.onMerge(mergedWindows)
          for (const merged of mergedWindows) {
            this.triggerContext.window = merged
            this.triggerContext.clear()
            this.deleteCleanupTimer(merged)
          }
          this.contents.merge(stateWindowResult, mergedStateWindows)
        })
        if (this.isWindowLate(actual)) {
          set.retireWindow(actual)
          continue
        }
        skipped = false
        const stateWindow = set.getStateWindow(actual)
        if (stateWindow === undefined) throw new WeirError('INTERNAL', `Window ${String(actual)} has no state window`)
        this.contents.setWindow(stateWindow)
        this.addToWindow(actual, value, timestamp)
      }
      set.persist()
    } else {
      for (const window of windows) {
        if (this.isWindowLate(window)) continue
        skipped = false
        this.contents.setWindow(window)
        this.addToWindow(window, value, timestamp)
      }
    }
    if (skipped && this.isElementLate(timestamp)) {
      if (this.config.lateDataTag !== undefined) this.output.collectSide(this.config.lateDataTag, value, timestamp)
      else this.numLateRecordsDropped++
    }
  }

  private addToWindow(window: W, value: IN, timestamp: number): void {
    this.contents.add(value, timestamp)
    this.triggerContext.window = window
    this.handleTriggerResult(window, this.triggerContext.onElement(value, timestamp))
    this.registerCleanupTimer(window)
  }

  private handleTriggerResult(window: W, result: TriggerResult): void {
    if (isFire(result)) {
      const contents = this.contents.get()
      if (contents !== undefined) this.emitWindowContents(window, contents)
    }
    if (isPurge(result)) this.contents.clear()
  }

  onEventTime(timer: Timer<W>): void {
    this.onTimer(timer, true)
  }

  onProcessingTime(timer: Timer<W>): void {
    this.onTimer(timer, false)
  }

  private onTimer(timer: Timer<W>, eventTime: boolean): void {
    const window = timer.namespace
    let set: MergingWindowSet<W> | undefined
    if (this.merging) {
      set = this.mergingWindowSet()
      const stateWindow = set.getStateWindow(window)
      // A timer of a window merged away that its trigger did not delete: the window has no state left.
      if (stateWindow === undefined) return
      this.contents.setWindow(stateWindow)
    } else {
      this.contents.setWindow(window)
    }
    this.triggerContext.window = window
    const result = eventTime ? this.triggerContext.onEventTime(timer.timestamp) : this.triggerContext.onProcessingTime(timer.timestamp)
    this.handleTriggerResult(window, result)
    if (eventTime === this.eventTime && timer.timestamp === this.cleanupTime(window)) this.clearAllState(window, set)
    set?.persist()
  }

  private clearAllState(window: W, set: MergingWindowSet<W> | undefined): void {
    this.contents.clear()
    this.triggerContext.window = window
    this.triggerContext.clear()
    this.processContext.window = window
    this.userFunction.clear(this.processContext)
    set?.retireWindow(window)
  }

  private mergingWindowSet(): MergingWindowSet<W> {
    return new MergingWindowSet(this.merging as MergingWindowAssigner<unknown, W>, this.mergingSetState!)
  }

  private checkMergeResult(mergeResult: W): void {
    if (this.eventTime && this.cleanupTime(mergeResult) <= this.timers.currentWatermark()) {
      throw new WeirError('INVALID_WINDOW', `Merging made the event-time window ${String(mergeResult)} end before the watermark ${this.timers.currentWatermark()}; a merge must not shrink a window`)
    }
    if (!this.eventTime && mergeResult.maxTimestamp() <= this.timers.currentProcessingTime()) {
      throw new WeirError('INVALID_WINDOW', `Merging made the processing-time window ${String(mergeResult)} end before the current time`)
    }
  }

  /** When a window's state goes: its end plus the lateness in event time, its end in processing time. */
  protected cleanupTime(window: W): number {
    const end = window.maxTimestamp()
    if (!this.eventTime) return end
    const time = end + this.config.allowedLateness
    return time >= end ? Math.min(time, NEVER) : NEVER
  }

  private registerCleanupTimer(window: W): void {
    const time = this.cleanupTime(window)
    if (time >= NEVER) return
    if (this.eventTime) this.timers.registerEventTimeTimer(window, time)
    else this.timers.registerProcessingTimeTimer(window, time)
  }

  private deleteCleanupTimer(window: W): void {
    const time = this.cleanupTime(window)
    if (time >= NEVER) return
    if (this.eventTime) this.timers.deleteEventTimeTimer(window, time)
    else this.timers.deleteProcessingTimeTimer(window, time)
  }

  /** A window whose state would already have been cleaned up: elements for it are late. */
  private isWindowLate(window: W): boolean {
    return this.eventTime && this.cleanupTime(window) <= this.timers.currentWatermark()
  }

  private isElementLate(timestamp: number): boolean {
    return this.eventTime && timestamp + this.config.allowedLateness <= this.timers.currentWatermark()
  }

  /** The key of the current element or timer. */
  protected currentKey(): K {
    return this.ctx.keyedBackend!.getCurrentKey() as K
  }
}
