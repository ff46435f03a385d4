/**
 * Reading and writing savepoints outside a running job, as Flink's State Processor API: inspect
 * and export state, or bootstrap the state of a new job from data.
 */
export {
  readSavepoint,
  SavepointReader,
  type KeyedStateEntry,
  type KeyedStateRangeStatistics,
  type KeyedStateStatistics,
  type OperatorStateStatistics,
  type OperatorStatistics,
  type ReadKeyedStateOptions,
  type SavepointOperator,
  type SavepointOperatorState,
  type SavepointSubtaskFile,
  type TimerEntry,
} from './savepoint-reader.ts'
export {
  writeSavepoint,
  type BootstrapEntry,
  type BootstrapSource,
  type KeyedStateBootstrap,
  type ListStateBootstrap,
  type MapStateBootstrap,
  type OperatorBootstrap,
  type OperatorStateBootstrap,
  type SingleValueStateBootstrap,
  type WriteSavepointOptions,
} from './savepoint-writer.ts'
export { builtinSerializer } from './builtin-serializers.ts'
