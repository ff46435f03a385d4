import { StreamEnvironment, type DataStream, type KeyedStream } from '../../../src/index.ts'
import type { OneInputStreamOperator, TwoInputStreamOperator } from '../../../src/operators/stream-operator.ts'
import { OneInputOperatorTestHarness } from '../../harness/index.ts'

/** A keyed test record: [key, value]. */
export type Rec = [string, number]

/** The key of a `Rec`. */
export const byKey = (r: Rec): string => r[0]

/**
 * The operator factory the API builds for `build(keyed input)`, so tests run the same operator a job
 * would.
 */
export function operatorFactory<IN, K, OUT>(keySelector: (value: IN) => K, build: (input: KeyedStream<IN, K>) => DataStream<OUT>): () => OneInputStreamOperator<IN, OUT> {
  const env = StreamEnvironment.create()
  const out = build(env.fromCollection<IN>([]).keyBy(keySelector))
  const t = out.transformation
  if (t.kind !== 'one-input') throw new Error(`expected a one-input operator, got ${t.kind}`)
  return t.factory as () => OneInputStreamOperator<IN, OUT>
}

/** The two-input operator factory the API builds. */
export function twoInputFactory<T1, T2, OUT>(build: (env: StreamEnvironment) => DataStream<OUT>): () => TwoInputStreamOperator<T1, T2, OUT> {
  const t = build(StreamEnvironment.create()).transformation
  if (t.kind !== 'two-input') throw new Error(`expected a two-input operator, got ${t.kind}`)
  return t.factory as () => TwoInputStreamOperator<T1, T2, OUT>
}

/** An opened harness over `Rec`s keyed by their first field. */
export function recHarness<OUT>(build: (input: KeyedStream<Rec, string>) => DataStream<OUT>): OneInputOperatorTestHarness<Rec, OUT> {
  return new OneInputOperatorTestHarness(operatorFactory(byKey, build), { keySelector: byKey }).open()
}

/** Sums the values of `Rec`s with equal keys. */
export const sumRec = (a: Rec, b: Rec): Rec => [a[0], a[1] + b[1]]

/** Records sorted for order-independent comparison. */
export function sorted<T>(values: T[]): T[] {
  return [...values].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0))
}
