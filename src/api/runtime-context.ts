import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../state/descriptors.ts'
import type { AggregatingState, BroadcastState, ListState, MapState, ReducingState, ValueState } from '../state/state.ts'

/** Who a function instance is: its operator and subtask. */
export interface TaskInfo {
  readonly jobId: string
  readonly operatorName: string
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly maxParallelism: number
}

/** Keyed state of the current key. Only available on keyed streams. */
export interface KeyedStateStore {
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  getMapState<UK, UV>(descriptor: MapStateDescriptor<UK, UV>): MapState<UK, UV>
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>
  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>
}

/** Operator (non-keyed) state of this subtask. */
export interface OperatorStateStore {
  /** Split on rescale: the elements of all subtasks are dealt out evenly. */
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  /** Every subtask gets the union of all subtasks' elements on restore. */
  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V>
}

/** What a rich function's `open` receives. */
export interface RuntimeContext extends KeyedStateStore {
  readonly taskInfo: TaskInfo
}

/** What `CheckpointedFunction.initializeState` receives. */
export interface FunctionInitializationContext {
  /** True when the job restored this function's state from a checkpoint or savepoint. */
  readonly isRestored: boolean
  readonly operatorStateStore: OperatorStateStore
  /** Present on keyed streams. */
  readonly keyedStateStore: KeyedStateStore | undefined
}

/** What `CheckpointedFunction.snapshotState` receives. */
export interface FunctionSnapshotContext {
  readonly checkpointId: number
}
