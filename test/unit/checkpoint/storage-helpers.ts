import assert from 'node:assert/strict'
import type { CheckpointStorage, CompletedSnapshotHandle, SnapshotKind, SnapshotMetadata } from '../../../src/checkpoint/checkpoint-storage.ts'
import { SNAPSHOT_FORMAT_VERSION } from '../../../src/checkpoint/metadata-codec.ts'
import type { OperatorSubtaskState } from '../../../src/checkpoint/operator-subtask-state.ts'
import { WeirError } from '../../../src/errors.ts'
import { MAX_PARALLELISM } from './fixtures.ts'

/** Writes one operator's subtask states as a checkpoint (or savepoint) and completes it. */
export async function writeSnapshot(
  storage: CheckpointStorage,
  checkpointId: number,
  states: readonly OperatorSubtaskState[],
  options: { uid?: string; kind?: SnapshotKind } = {},
): Promise<CompletedSnapshotHandle> {
  const uid = options.uid ?? 'count'
  const kind = options.kind ?? 'checkpoint'
  const subtasks = await Promise.all(states.map((state, i) => storage.writeSubtaskState(checkpointId, kind, uid, i, state)))
  const metadata: SnapshotMetadata = {
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    kind,
    jobId: 'job',
    jobName: 'test job',
    checkpointId,
    timestamp: 1000 + checkpointId,
    operators: [{ uid, name: `op ${uid}`, parallelism: states.length, maxParallelism: MAX_PARALLELISM, subtasks }],
    sourceEnumerators: [],
  }
  return storage.commit(metadata)
}

/** An assertion that an error is a WeirError with the code, mentioning every given text. */
export function isCode(code: string, ...inMessage: string[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof WeirError, `expected a WeirError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    for (const part of inMessage) assert.ok(error.message.includes(part), `'${error.message}' should mention '${part}'`)
    return true
  }
}
