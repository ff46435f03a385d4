import type { SourceSplit, SplitEnumerator } from '../api/connector/source.ts'
import type { SourceDescriptor } from '../graph/source-descriptor.ts'
import type { SourceCoordinatorGateway } from '../operators/source/source-operator.ts'

/** How the coordinator reaches a reader: runs an action inside that reader's task. */
export type ReaderDispatch = (subtask: number, action: (reader: import('../api/connector/source.ts').SourceReader<unknown, SourceSplit>) => void) => void

/**
 * Runs a source's split enumerator for one job and relays between it and the readers. Calls into the
 * enumerator are deferred to a later turn so a reader's request never re-enters its own task.
 */
export class SourceCoordinator implements SourceCoordinatorGateway {
  private enumerator!: SplitEnumerator<SourceSplit, unknown>

  constructor(
    private readonly descriptor: SourceDescriptor,
    private readonly parallelism: number,
    private readonly dispatch: ReaderDispatch,
  ) {}

  start(restoredState?: unknown): void {
    const context = {
      parallelism: this.parallelism,
      assignSplit: (split: SourceSplit, subtask: number) => this.dispatch(subtask, (reader) => reader.addSplits([split])),
      signalNoMoreSplits: (subtask: number) => this.dispatch(subtask, (reader) => reader.notifyNoMoreSplits()),
    }
    const source = this.descriptor.source
    this.enumerator = restoredState === undefined ? source.createEnumerator(context) : source.restoreEnumerator(context, restoredState)
    this.enumerator.start()
  }

  requestSplit(subtask: number): void {
    queueMicrotask(() => this.enumerator.handleSplitRequest(subtask))
  }

  registerReader(subtask: number): void {
    queueMicrotask(() => this.enumerator.addReader(subtask))
  }

  snapshotState(checkpointId: number): unknown {
    return this.enumerator.snapshotState(checkpointId)
  }

  close(): void {
    this.enumerator?.close?.()
  }
}
