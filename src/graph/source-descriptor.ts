import type { Source, SourceSplit } from '../api/connector/source.ts'
import type { WatermarkStrategy } from '../time/watermark-strategy.ts'

/** A source in the plan: the source and how its records get timestamps and watermarks. */
export interface SourceDescriptor {
  source: Source<unknown, SourceSplit, unknown>
  watermarkStrategy: WatermarkStrategy<unknown>
}
