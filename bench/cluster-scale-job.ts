/**
 * The jobs of the cluster scale-up benchmark (bench/cluster-scale.ts), as one job module:
 *
 * - `stateless`: numbers -> map -> filter -> discard, all chained (no records cross a channel).
 * - `keyed`: numbers -> keyBy -> a running count per key in ValueState -> discard; at parallelism
 *   p, (p - 1) / p of the records cross to another subtask, over the network between task managers.
 *
 * Arguments: which job, and how many records.
 */
import { KeyedProcessFunction, Types, ValueStateDescriptor, WatermarkStrategy, defineJob, discardSink, numberSource, type Collector, type KeyedProcessContext, type RuntimeContext, type ValueState } from '../src/index.ts'

class CountPerKey extends KeyedProcessFunction<number, number, number> {
  private count!: ValueState<number>

  override open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor('count', Types.number))
  }

  processElement(value: number, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    const n = (this.count.value() ?? 0) + 1
    this.count.update(n)
    if (n % 1024 === 0) out.collect(value)
  }
}

export default defineJob((env, args) => {
  const kind = args[0] ?? 'stateless'
  const records = Number(args[1] ?? 10_000_000)
  const parallelism = env.getParallelism()
  if (args[2]) env.config.channelCapacity = Number(args[2])
  const numbers = env.fromSource(numberSource(1, records, (n) => n, { splits: parallelism * 4, batch: 1024 }), WatermarkStrategy.noWatermarks(), 'numbers')
  if (kind === 'stateless') {
    numbers
      .map((n) => n * 3 + 1, 'map')
      .filter((n) => n % 7 !== 0, 'filter')
      .sinkTo(discardSink(), 'discard')
  } else {
    numbers
      .keyBy((n) => n % 4096)
      .process(new CountPerKey(), 'count')
      .sinkTo(discardSink(), 'discard')
  }
})
