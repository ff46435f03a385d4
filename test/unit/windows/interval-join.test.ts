import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OutputTag, ProcessJoinFunction, type Collector, type ProcessJoinContext } from '../../../src/index.ts'
import type { IntervalJoinOperator } from '../../../src/operators/join/interval-join-operator.ts'
import { MAX_WATERMARK } from '../../../src/time/time.ts'
import { record, TwoInputOperatorTestHarness } from '../../harness/index.ts'
import { byKey, twoInputFactory, type Rec } from './window-test-utils.ts'

type Pair = string

class PairUp extends ProcessJoinFunction<Rec, Rec, Pair> {
  processElement(left: Rec, right: Rec, ctx: ProcessJoinContext, out: Collector<Pair>): void {
    out.collect(`${left[0]}:${left[1]}@${ctx.leftTimestamp()}+${right[1]}@${ctx.rightTimestamp()}`)
  }
}

function harness(
  lower: number,
  upper: number,
  configure: (j: import('../../../src/api/interval-join.ts').IntervalJoined<Rec, Rec, string>) => void = () => {},
): TwoInputOperatorTestHarness<Rec, Rec, Pair> {
  const factory = twoInputFactory<Rec, Rec, Pair>((env) => {
    const joined = env.fromCollection<Rec>([]).keyBy(byKey).intervalJoin(env.fromCollection<Rec>([]).keyBy(byKey)).between(lower, upper)
    configure(joined)
    return joined.process(new PairUp())
  })
  return new TwoInputOperatorTestHarness(factory, { keySelector: byKey, keySelector2: byKey }).open()
}

describe('IntervalJoinOperator', () => {
  it('joins right elements in [t + lower, t + upper] of each left element, per key, stamped with the max', async () => {
    const h = harness(-2, 3)
    h.processElement1(['a', 1], 10)
    h.processElement2(['a', 100], 7) // 10 - 3: outside
    h.processElement2(['a', 101], 8) // 10 - 2: inside
    h.processElement2(['a', 102], 13) // 10 + 3: inside
    h.processElement2(['a', 103], 14) // outside
    h.processElement2(['b', 104], 10) // other key
    h.processElement1(['a', 2], 12) // joins 101? 8 < 10: no; 102 (13) and 103 (14): yes
    assert.deepEqual(h.output, [
      record('a:1@10+101@8', 10),
      record('a:1@10+102@13', 13),
      record('a:2@12+102@13', 13),
      record('a:2@12+103@14', 14),
    ])
    await h.close()
  })

  it('exclusive bounds', async () => {
    const h = harness(-2, 3, (j) => j.lowerBoundExclusive().upperBoundExclusive())
    h.processElement1(['a', 1], 10)
    for (const t of [7, 8, 9, 12, 13, 14]) h.processElement2(['a', t], t)
    assert.deepEqual(h.extractOutputValues(), ['a:1@10+9@9', 'a:1@10+12@12'])
    await h.close()
  })

  it('buffers are cleaned up as the watermark passes what could still join', async () => {
    const h = harness(-5, 5)
    h.processElement1(['a', 1], 10)
    h.processElement2(['a', 2], 20)
    h.processBothWatermarks(14)
    assert.equal(h.numKeyedStateEntries(), 2)
    h.processBothWatermarks(15) // the left element at 10 could only join right elements up to 15
    h.processElement2(['a', 3], 15) // late: behind the watermark
    assert.deepEqual(h.output, [])
    h.processBothWatermarks(25)
    assert.equal(h.numKeyedStateEntries(), 0)
    assert.equal(h.numTimers(), 0)
    assert.equal((h.operator as IntervalJoinOperator<Rec, Rec, Pair>).numLateRecordsDropped, 1)
    await h.close()
  })

  it('late elements of either side go to their side outputs', async () => {
    const leftLate = new OutputTag<Rec>('left-late')
    const rightLate = new OutputTag<Rec>('right-late')
    const h = harness(0, 0, (j) => j.sideOutputLeftLateData(leftLate).sideOutputRightLateData(rightLate))
    h.processBothWatermarks(99)
    h.processElement1(['a', 1], 99) // at the watermark: late
    h.processElement2(['a', 2], 50)
    h.processElement1(['a', 3], 100)
    h.processElement2(['a', 4], 100)
    assert.deepEqual(h.sideOutput(leftLate), [record<Rec>(['a', 1], 99)])
    assert.deepEqual(h.sideOutput(rightLate), [record<Rec>(['a', 2], 50)])
    assert.deepEqual(h.extractOutputValues(), ['a:3@100+4@100'])
    h.processBothWatermarks(MAX_WATERMARK)
    assert.equal(h.numKeyedStateEntries(), 0)
    await h.close()
  })

  it('refuses elements without timestamps and empty intervals', async () => {
    const h = harness(0, 1)
    assert.throws(() => h.processElement1(['a', 1]), /without a timestamp/)
    await h.close()
    assert.throws(() => harness(5, 1), /lower <= upper/)
    assert.throws(() => harness(1, 1, (j) => j.lowerBoundExclusive()), /lower bound <= upper bound/)
  })
})
