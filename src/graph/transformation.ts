import type { OperatorFactory, KeySelector } from '../operators/stream-operator.ts'
import type { Partitioning } from './partitioner.ts'
import type { SourceDescriptor } from './source-descriptor.ts'

/** Settings shared by every transformation that becomes an operator. */
export interface OperatorSettings {
  name: string
  uid: string | undefined
  /** Undefined: the environment's default. */
  parallelism: number | undefined
  /** Undefined: the environment's max parallelism. */
  maxParallelism: number | undefined
  /** Whether the operator may be chained to its predecessor. */
  chainable: boolean
}

/** An operator that reads a source. */
export interface SourceTransformation {
  kind: 'source'
  id: number
  settings: OperatorSettings
  source: SourceDescriptor
}

/** An operator with one input. */
export interface OneInputTransformation {
  kind: 'one-input'
  id: number
  settings: OperatorSettings
  input: Transformation
  factory: OperatorFactory<unknown>
  /** Set when the operator runs on a keyed stream: keyed state is available. */
  keySelector: KeySelector<unknown> | undefined
}

/** An operator with two inputs. */
export interface TwoInputTransformation {
  kind: 'two-input'
  id: number
  settings: OperatorSettings
  input1: Transformation
  input2: Transformation
  factory: OperatorFactory<unknown>
  keySelector1: KeySelector<unknown> | undefined
  keySelector2: KeySelector<unknown> | undefined
}

/** Not an operator: changes how its input is partitioned to the next operator. */
export interface PartitionTransformation {
  kind: 'partition'
  id: number
  input: Transformation
  partitioning: Partitioning
}

/** Not an operator: merges several streams of one type. */
export interface UnionTransformation {
  kind: 'union'
  id: number
  inputs: Transformation[]
}

/** Not an operator: selects a side output of its input. */
export interface SideOutputTransformation {
  kind: 'side-output'
  id: number
  input: Transformation
  tagId: string
}

/** A node of the logical plan the API builds. */
export type Transformation =
  | SourceTransformation
  | OneInputTransformation
  | TwoInputTransformation
  | PartitionTransformation
  | UnionTransformation
  | SideOutputTransformation

/** Transformations that become operators. */
export type OperatorTransformation = SourceTransformation | OneInputTransformation | TwoInputTransformation
