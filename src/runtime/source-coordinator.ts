import type { SourceReader, SourceSplit, SplitEnumerator } from '../api/connector/source.ts'
import type { SourceDescriptor } from '../graph/source-descriptor.ts'
import type { SourceCoordinatorGateway } from '../operators/source/source-operator.ts'

/**
 * What the enumerator tells one reader. Plain data, so an event can cross a process boundary to the
 * task manager that runs the reader.
 */
export type ReaderEvent = { kind: 'add-splits'; splits: SourceSplit[] } | { kind: 'no-more-splits' }

/** How the coordinator reaches a reader: delivers an event into that reader's task (its mailbox). */
export type ReaderDispatch = (subtask: number, event: ReaderEvent) => void

/** Hands an enumerator's event to a reader; runs inside the reader's task. */
export function applyReaderEvent(reader: SourceReader<unknown, SourceSplit>, event: ReaderEvent): void {
  if (event.kind === 'add-splits') reader.addSplits(event.splits)
  else reader.notifyNoMoreSplits()
}

/**
 * Runs a source's split enumerator for one job and relays between it and the readers. Calls into the
 * enumerator are deferred to a later turn so a reader's request never re-enters its own task.
 */
export class SourceCoordinator implements SourceCoordinatorGateway {
  private enumerator!: SplitEnumerator<SourceSplit, unknown>
  private closed = false

  constructor(
    private readonly descriptor: SourceDescriptor,
    private readonly parallelism: number,
    private readonly dispatch: ReaderDispatch,
  ) {}

  start(restoredState?: unknown): void {
    const context = {
      parallelism: this.parallelism,
      assignSplit: (split: SourceSplit, subtask: number) => this.dispatch(subtask, { kind: 'add-splits', splits: [split] }),
      signalNoMoreSplits: (subtask: number) => this.dispatch(subtask, { kind: 'no-more-splits' }),
    }
    const source = this.descriptor.source
    this.enumerator = restoredState === undefined ? source.createEnumerator(context) : source.restoreEnumerator(context, restoredState)
    this.enumerator.start()
  }

  requestSplit(subtask: number): void {
    queueMicrotask(() => {
      if (!this.closed) this.enumerator.handleSplitRequest(subtask)
    })
  }

  registerReader(subtask: number): void {
    queueMicrotask(() => {
      if (!this.closed) this.enumerator.addReader(subtask)
    })
  }

  snapshotState(checkpointId: number): unknown {
    return this.enumerator.snapshotState(checkpointId)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.enumerator?.close?.()
  }
}
