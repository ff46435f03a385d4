/**
 * Word count: reads lines from a file, splits them into words, counts each word in keyed state and
 * writes the final counts when the input ends (an event-time timer at the end of time fires then).
 *
 *   npm start                                   # generates 1,000,000 words and counts them
 *   weir run examples/word-count.ts -- <input file or dir> <output dir>
 */
import {
  FileSource,
  KeyedProcessFunction,
  Types,
  ValueStateDescriptor,
  WatermarkStrategy,
  defineJob,
  fileRowsSink,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from '../src/index.ts'
import { ensureInputFile } from './word-count-input.ts'

/** Counts words per key; emits each word's total once, at the end of the input. */
export class CountWords extends KeyedProcessFunction<string, string, [string, number]> {
  private count!: ValueState<number>

  override open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor('count', Types.number))
  }

  processElement(_word: string, ctx: KeyedProcessContext<string>, _out: Collector<[string, number]>): void {
    const n = (this.count.value() ?? 0) + 1
    this.count.update(n)
    // One timer per key (timers are deduplicated); it fires when the bounded input ends.
    if (n === 1) ctx.timerService().registerEventTimeTimer(Number.MAX_SAFE_INTEGER)
  }

  override onTimer(_timestamp: number, ctx: KeyedProcessContext<string>, out: Collector<[string, number]>): void {
    out.collect([ctx.getCurrentKey(), this.count.value() ?? 0])
  }
}

export default defineJob((env, args) => {
  const input = args[0] ?? ensureInputFile('.weir/word-count/input.txt', 1_000_000)
  const output = args[1] ?? '.weir/word-count/out'
  env
    .fromSource(FileSource.lines(input), WatermarkStrategy.noWatermarks(), 'lines')
    .flatMap<string>((line, out) => {
      for (const word of line.split(/\W+/)) if (word) out.collect(word.toLowerCase())
    }, 'split')
    .keyBy((word) => word)
    .process(new CountWords(), 'count')
    .uid('count')
    .sinkTo(fileRowsSink<[string, number]>(output, ([word, n]) => `${word} ${n}`), 'sink')
    .uid('sink')
})
