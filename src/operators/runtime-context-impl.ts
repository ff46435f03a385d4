import type { FunctionInitializationContext, KeyedStateStore, OperatorStateStore, RuntimeContext, TaskInfo } from '../api/runtime-context.ts'
import { StateError } from '../errors.ts'
import type { OperatorContext } from './stream-operator.ts'

function notKeyed(operatorName: string): never {
  throw new StateError(`Operator '${operatorName}' is not on a keyed stream: keyed state needs keyBy() before it`)
}

/** The keyed state of an operator as user functions see it (void namespace). */
export function keyedStateStoreOf(ctx: OperatorContext): KeyedStateStore | undefined {
  const backend = ctx.keyedBackend
  if (!backend) return undefined
  return {
    getState: (d) => backend.getValueState(d),
    getListState: (d) => backend.getListState(d),
    getMapState: (d) => backend.getMapState(d),
    getReducingState: (d) => backend.getReducingState(d),
    getAggregatingState: (d) => backend.getAggregatingState(d),
  }
}

/** Operator state as user functions see it. */
export function operatorStateStoreOf(ctx: OperatorContext): OperatorStateStore {
  const backend = ctx.operatorBackend
  return {
    getListState: (d) => backend.getListState(d),
    getUnionListState: (d) => backend.getUnionListState(d),
    getBroadcastState: (d) => backend.getBroadcastState(d),
  }
}

/** Task facts for a user function. */
export function taskInfoOf(ctx: OperatorContext): TaskInfo {
  return {
    jobId: ctx.jobId,
    operatorName: ctx.operatorName,
    subtaskIndex: ctx.subtaskIndex,
    parallelism: ctx.parallelism,
    maxParallelism: ctx.maxParallelism,
  }
}

/** The `RuntimeContext` handed to a rich function's `open`. */
export function runtimeContextOf(ctx: OperatorContext): RuntimeContext {
  const keyed = keyedStateStoreOf(ctx)
  const name = ctx.operatorName
  return {
    taskInfo: taskInfoOf(ctx),
    getState: (d) => (keyed ?? notKeyed(name)).getState(d),
    getListState: (d) => (keyed ?? notKeyed(name)).getListState(d),
    getMapState: (d) => (keyed ?? notKeyed(name)).getMapState(d),
    getReducingState: (d) => (keyed ?? notKeyed(name)).getReducingState(d),
    getAggregatingState: (d) => (keyed ?? notKeyed(name)).getAggregatingState(d),
  }
}

/** The context of `CheckpointedFunction.initializeState`. */
export function initializationContextOf(ctx: OperatorContext): FunctionInitializationContext {
  return { isRestored: ctx.isRestored, operatorStateStore: operatorStateStoreOf(ctx), keyedStateStore: keyedStateStoreOf(ctx) }
}
