import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { WatermarkStrategy, type WatermarkGenerator } from '../../../src/index.ts'
import { TimestampsAndWatermarksOperator } from '../../../src/operators/timestamps-and-watermarks-operator.ts'
import { MAX_WATERMARK } from '../../../src/time/time.ts'
import { OneInputOperatorTestHarness, record } from '../../harness/index.ts'

describe('TimestampsAndWatermarksOperator', () => {
  it('re-stamps records and emits periodic watermarks every 200 ms of processing time', async () => {
    const strategy = WatermarkStrategy.forBoundedOutOfOrderness<{ t: number }>(10).withTimestampAssigner((e) => e.t)
    const h = new OneInputOperatorTestHarness(() => new TimestampsAndWatermarksOperator(strategy)).open()
    h.processElement({ t: 100 }, 5)
    h.processElement({ t: 50 })
    assert.deepEqual(h.output, [record({ t: 100 }, 100), record({ t: 50 }, 50)])
    h.processWatermark(1000) // upstream watermarks are dropped
    assert.deepEqual(h.watermarks, [])
    h.setProcessingTime(199)
    assert.deepEqual(h.watermarks, [])
    h.setProcessingTime(200)
    assert.deepEqual(h.watermarks, [89])
    h.processElement({ t: 300 })
    h.setProcessingTime(400)
    assert.deepEqual(h.watermarks, [89, 289])
    h.processWatermark(MAX_WATERMARK) // except the one that ends event time
    assert.deepEqual(h.watermarks, [89, 289, MAX_WATERMARK])
    await h.close()
  })

  it('punctuated generators emit per event, and only increasing watermarks', async () => {
    const punctuated: WatermarkGenerator<number> = {
      onEvent: (event, _ts, out) => out.emitWatermark(event),
      onPeriodicEmit: () => {},
    }
    const strategy = WatermarkStrategy.forGenerator(() => punctuated).withTimestampAssigner((e: number) => e)
    const h = new OneInputOperatorTestHarness(() => new TimestampsAndWatermarksOperator(strategy)).open()
    for (const e of [5, 3, 8]) h.processElement(e)
    assert.deepEqual(h.watermarks, [5, 8])
    assert.deepEqual(h.events.map((e) => (e.kind === 'record' ? `r${e.value}` : `w${e.watermark}`)), ['r5', 'w5', 'r3', 'r8', 'w8'])
    await h.close()
  })
})
