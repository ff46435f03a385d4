import type { ReaderOutput, SourceOutput } from '../../api/connector/source.ts'
import type { Output } from '../output.ts'
import { NO_TIMESTAMP } from '../../time/time.ts'
import { WatermarkMultiplexer } from '../../time/watermark-multiplexer.ts'
import type { WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from '../../time/watermark-strategy.ts'
import { WatermarksWithIdleness } from '../../time/watermarks-with-idleness.ts'

const MAIN = '\u0000main'

interface SplitPart<T> {
  generator: WatermarkGenerator<T>
  output: WatermarkOutput
  sourceOutput: SourceOutput<T>
}

/**
 * Stamps a reader's records with timestamps and derives the reader's watermark: one generator per
 * split (and one for records emitted outside any split), combined by a multiplexer.
 */
export class SourceWatermarks<T> implements ReaderOutput<T> {
  private readonly parts = new Map<string, SplitPart<T>>()
  private readonly multiplexer: WatermarkMultiplexer
  private main: SplitPart<T> | undefined
  /** Splits assigned to the reader and not released (finished) yet. */
  private readonly held = new Set<string>()

  constructor(
    private readonly strategy: WatermarkStrategy<T>,
    private readonly output: Output<T>,
    emitWatermark: (watermark: number) => void,
    setIdle: (idle: boolean) => void,
    private readonly now: () => number,
  ) {
    this.multiplexer = new WatermarkMultiplexer(emitWatermark, setIdle)
  }

  private createPart(id: string): SplitPart<T> {
    let generator = this.strategy.createGenerator()
    if (this.strategy.idlenessMs !== undefined) generator = new WatermarksWithIdleness(generator, this.strategy.idlenessMs, this.now)
    const wmOutput = this.multiplexer.register(id)
    const assigner = this.strategy.timestampAssigner
    const output = this.output
    const sourceOutput: SourceOutput<T> = {
      collect: (value, timestamp) => {
        const ts = assigner ? assigner(value, timestamp) : (timestamp ?? NO_TIMESTAMP)
        generator.onEvent(value, ts, wmOutput)
        output.collect(value, ts)
      },
    }
    const part = { generator, output: wmOutput, sourceOutput }
    this.parts.set(id, part)
    return part
  }

  collect(value: T, timestamp?: number): void {
    ;(this.main ??= this.createPart(MAIN)).sourceOutput.collect(value, timestamp)
  }

  createOutputForSplit(splitId: string): SourceOutput<T> {
    return (this.parts.get(splitId) ?? this.createPart(splitId)).sourceOutput
  }

  /** The reader was given a split: until it is released the reader is not idle for lack of records. */
  splitAssigned(splitId: string): void {
    this.held.add(splitId)
  }

  releaseOutputForSplit(splitId: string): void {
    this.held.delete(splitId)
    this.parts.delete(splitId)
    this.multiplexer.unregister(splitId)
  }

  /** Called every watermark interval: periodic generators emit, idle inputs are detected. */
  onPeriodicEmit(): void {
    for (const part of this.parts.values()) part.generator.onPeriodicEmit(part.output)
    if (this.held.size === 0) this.multiplexer.markIdleIfEmpty()
  }
}
