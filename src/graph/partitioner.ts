import type { KeySelector } from '../operators/stream-operator.ts'

/** How records of an edge are spread over the downstream subtasks. */
export type PartitionerKind = 'forward' | 'rebalance' | 'hash' | 'broadcast'

/** The partitioning of an edge; `hash` carries the key selector. */
export type Partitioning =
  | { kind: 'forward' }
  | { kind: 'rebalance' }
  | { kind: 'broadcast' }
  | { kind: 'hash'; keySelector: KeySelector<unknown>; operatorName: string }
