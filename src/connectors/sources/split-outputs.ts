import type { ReaderOutput, SourceOutput } from '../../api/connector/source.ts'

/**
 * Keeps a reader's per-split outputs: every split it holds gets an output (and so a watermark
 * generator) as soon as it is assigned, so a split not read yet holds the reader's watermark back,
 * and a finished split releases it.
 */
export class SplitOutputs<T> {
  private readonly registered = new Set<string>()

  /** The output of a split, registering every split the reader holds that has none yet. */
  outputFor(output: ReaderOutput<T>, splitId: string, held: Iterable<{ splitId: string }>): SourceOutput<T> {
    if (!output.createOutputForSplit) return output
    for (const split of held) {
      if (!this.registered.has(split.splitId)) {
        this.registered.add(split.splitId)
        output.createOutputForSplit(split.splitId)
      }
    }
    return output.createOutputForSplit(splitId)
  }

  /** The split is done: it no longer holds the watermark back. */
  release(output: ReaderOutput<T>, splitId: string): void {
    if (this.registered.delete(splitId)) output.releaseOutputForSplit?.(splitId)
  }
}
