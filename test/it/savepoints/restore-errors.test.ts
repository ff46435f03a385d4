import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import {
  KeyedProcessFunction,
  StreamEnvironment,
  Types,
  ValueStateDescriptor,
  WeirError,
  collectSink,
  numberSource,
  WatermarkStrategy,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type Source,
  type SourceSplit,
  type TypeSerializer,
  type ValueState,
} from '../../../src/index.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-sp-err-'))
after(() => rmSync(root, { recursive: true, force: true }))

/** Sums values per key in ValueState, stored with the given serializer; emits the sum at the end. */
class Sum extends KeyedProcessFunction<number, number, string> {
  private sum!: ValueState<number>
  constructor(private readonly serializer: TypeSerializer<number>) {
    super()
  }
  override open(ctx: RuntimeContext): void {
    this.sum = ctx.getState(new ValueStateDescriptor('sum', this.serializer))
  }
  processElement(n: number, ctx: KeyedProcessContext<number>): void {
    this.sum.update((this.sum.value() ?? 0) + n)
    ctx.timerService().registerEventTimeTimer(Number.MAX_SAFE_INTEGER)
  }
  override onTimer(_t: number, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    out.collect(`${ctx.getCurrentKey()}=${this.sum.value()}`)
  }
}

interface Variant {
  sumUid?: string
  serializer?: TypeSerializer<number>
  maxParallelism?: number
  from?: number
  to?: number
}

/** A source that never emits and never ends: keeps a job running after its real input is read. */
function openEnded(): Source<number, SourceSplit, null> {
  return {
    boundedness: 'continuous',
    createEnumerator: () => ({ start() {}, handleSplitRequest() {}, addSplitsBack() {}, addReader() {}, snapshotState: () => null }),
    restoreEnumerator: () => ({ start() {}, handleSplitRequest() {}, addSplitsBack() {}, addReader() {}, snapshotState: () => null }),
    createReader: () => ({
      start() {},
      pollNext: () => 'nothing-available' as const,
      isAvailable: () => new Promise<void>(() => {}),
      addSplits() {},
      notifyNoMoreSplits() {},
      snapshotState: () => [],
      close() {},
    }),
  }
}

function build(env: StreamEnvironment, out: string[], v: Variant = {}, keepRunning = false): void {
  let numbers = env
    .fromSource(numberSource(v.from ?? 1, v.to ?? 2000, (n) => n, { splits: 4 }), WatermarkStrategy.noWatermarks(), 'numbers')
    .uid('numbers')
  if (keepRunning) numbers = numbers.union(env.fromSource(openEnded(), WatermarkStrategy.noWatermarks(), 'open-ended').uid('open-ended'))
  numbers
    .keyBy((n) => n % 10)
    .process(new Sum(v.serializer ?? Types.number), 'sum')
    .uid(v.sumUid ?? 'sum')
    .setMaxParallelism(v.maxParallelism ?? 128)
    .sinkTo(collectSink(out), 'collect')
    .uid('collect')
}

let savepoint: string

before(async () => {
  // A bounded job whose last checkpoint before the end holds every key's sum: stop it with a savepoint.
  const env = StreamEnvironment.create({ parallelism: 2 })
  env.enableCheckpointing(3_600_000)
  const out: string[] = []
  build(env, out, {}, true)
  const job = env.executeAsync('first', { log: () => {} })
  // Every number summed (the sums live in keyed state), then stop.
  while (job.tasks.flatMap((t) => t.metrics).filter((m) => m.operatorName === 'sum').reduce((n, m) => n + m.recordsIn, 0) < 2000) {
    await new Promise((r) => setTimeout(r, 10))
  }
  const handle = await job.stopWithSavepoint({ targetDirectory: join(root, 'savepoints') })
  await job.result
  savepoint = handle.pointer
})

async function resume(variant: Variant, options: { allowNonRestoredState?: boolean; from?: string } = {}): Promise<string[]> {
  const env = StreamEnvironment.create({ parallelism: 3 })
  env.enableCheckpointing(3_600_000)
  const out: string[] = []
  build(env, out, { from: 2001, to: 2000, ...variant })
  await env.execute('resumed', { restoreFrom: options.from ?? savepoint, allowNonRestoredState: options.allowNonRestoredState ?? false, log: () => {} })
  return out.sort()
}

test('a savepoint copied to another directory restores', async () => {
  const copy = join(root, 'elsewhere', 'copied-savepoint')
  cpSync(savepoint, copy, { recursive: true })
  rmSync(savepoint, { recursive: true })
  try {
      const sums = await resume({}, { from: copy })
    const expected = Array.from({ length: 10 }, (_, k) => {
      let sum = 0
      for (let n = 1; n <= 2000; n++) if (n % 10 === k) sum += n
      return `${k}=${sum}`
    }).sort()
    assert.deepEqual(sums, expected)
  } finally {
    cpSync(copy, savepoint, { recursive: true })
  }
})

test('a changed state type is refused with an error naming the state and both serializers', async () => {
  await assert.rejects(resume({ serializer: Types.json<number>() }), (e: unknown) => {
    assert.ok(e instanceof WeirError, String(e))
    assert.match(e.message, /'sum'/)
    assert.match(e.message, /number/)
    assert.match(e.message, /json/)
    return true
  })
})

test('state of an operator the job no longer has is refused, unless allowNonRestoredState', async () => {
  await assert.rejects(resume({ sumUid: 'renamed-sum' }), (e: unknown) => {
    assert.ok(e instanceof WeirError && e.code === 'UNMATCHED_STATE', String(e))
    assert.match(e.message, /'sum'/)
    assert.match(e.message, /allowNonRestoredState/)
    return true
  })
  // With allowNonRestoredState, the renamed operator starts empty: no key has a sum before the new input.
  const sums = await resume({ sumUid: 'renamed-sum' }, { allowNonRestoredState: true })
  assert.deepEqual(sums, [])
})

test('another max parallelism is refused', async () => {
  await assert.rejects(resume({ maxParallelism: 64 }), (e: unknown) => {
    assert.ok(e instanceof WeirError && e.code === 'MAX_PARALLELISM_MISMATCH', String(e))
    assert.match(e.message, /128/)
    assert.match(e.message, /64/)
    return true
  })
})
