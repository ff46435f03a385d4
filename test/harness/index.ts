/** The operator test harness: one operator instance, or all subtasks of a keyed one, driven by the test. */
export { record, CollectingOutput, type EmittedEvent, type EmittedRecord } from './collecting-output.ts'
export { AbstractOperatorTestHarness, type HarnessOptions } from './operator-test-harness.ts'
export { OneInputOperatorTestHarness, type OneInputHarnessOptions } from './one-input-harness.ts'
export { TwoInputOperatorTestHarness, type TwoInputHarnessOptions } from './two-input-harness.ts'
export {
  KeyedHarnessGroup,
  KeyedTwoInputHarnessGroup,
  subtaskForKey,
  type KeyedHarnessGroupOptions,
  type KeyedTwoInputHarnessGroupOptions,
} from './keyed-harness-group.ts'
export { ManualProcessingTimeService } from '../../src/time/manual-processing-time-service.ts'
