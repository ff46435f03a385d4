import type { Collector } from '../operators/output.ts'
import type { MapStateDescriptor, StateDescriptor } from '../state/descriptors.ts'
import type { BroadcastState, ReadOnlyBroadcastState } from '../state/state.ts'
import type { KeyedProcessContext, OnTimerContext, ProcessContext, RichFunction } from './functions.ts'
import type { RuntimeContext } from './runtime-context.ts'

/** What the keyed side of a broadcast connection sees: broadcast state read-only. */
export interface ReadOnlyBroadcastContext<K> extends KeyedProcessContext<K> {
  getBroadcastState<BK, BV>(descriptor: MapStateDescriptor<BK, BV>): ReadOnlyBroadcastState<BK, BV>
}

/** What the broadcast side sees: broadcast state writable, and every key's state. */
export interface KeyedBroadcastContext extends ProcessContext {
  getBroadcastState<BK, BV>(descriptor: MapStateDescriptor<BK, BV>): BroadcastState<BK, BV>
  /** Calls `fn` once per key that has the state, with that key current (state handles read it). */
  applyToKeyedState(descriptor: StateDescriptor, fn: (key: unknown) => void): void
}

/** Processes a keyed stream together with a broadcast stream of rules or configuration. */
export abstract class KeyedBroadcastProcessFunction<K, IN, BC, OUT> implements RichFunction {
  open?(context: RuntimeContext): void
  close?(): void
  abstract processElement(value: IN, ctx: ReadOnlyBroadcastContext<K>, out: Collector<OUT>): void
  abstract processBroadcastElement(value: BC, ctx: KeyedBroadcastContext, out: Collector<OUT>): void
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void
}

/** What the non-keyed side of a broadcast connection sees. */
export interface ReadOnlyBroadcastProcessContext extends ProcessContext {
  getBroadcastState<BK, BV>(descriptor: MapStateDescriptor<BK, BV>): ReadOnlyBroadcastState<BK, BV>
}

/** What the broadcast side of a non-keyed broadcast connection sees. */
export interface BroadcastProcessContext extends ProcessContext {
  getBroadcastState<BK, BV>(descriptor: MapStateDescriptor<BK, BV>): BroadcastState<BK, BV>
}

/** Processes a non-keyed stream together with a broadcast stream. */
export abstract class BroadcastProcessFunction<IN, BC, OUT> implements RichFunction {
  open?(context: RuntimeContext): void
  close?(): void
  abstract processElement(value: IN, ctx: ReadOnlyBroadcastProcessContext, out: Collector<OUT>): void
  abstract processBroadcastElement(value: BC, ctx: BroadcastProcessContext, out: Collector<OUT>): void
}
