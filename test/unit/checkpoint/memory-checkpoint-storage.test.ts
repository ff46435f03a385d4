import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryCheckpointStorage } from '../../../src/checkpoint/memory-checkpoint-storage.ts'
import { keyGroupRangeForSubtask } from '../../../src/state/key-groups.ts'
import { comparable, makeSubtaskState, MAX_PARALLELISM, readBack } from './fixtures.ts'
import { isCode, writeSnapshot } from './storage-helpers.ts'

const states = [makeSubtaskState(0, 2), makeSubtaskState(1, 2)]

describe('MemoryCheckpointStorage', () => {
  it('stores encoded files and reads them back through the codecs', async () => {
    const storage = new MemoryCheckpointStorage('job-m')
    const handle = await writeSnapshot(storage, 1, states)
    assert.equal(handle.pointer, 'memory://job-m/chk-1')
    assert.deepEqual(storage.fileNames(1), ['_metadata', 'count-0.state', 'count-1.state'])
    const [listed] = await storage.listCompleted()
    assert.deepEqual(listed.metadata, handle.metadata)
    const read = await Promise.all(listed.metadata.operators[0].subtasks.map((h) => storage.readSubtaskState(listed, h!)))
    assert.deepEqual(comparable(read), comparable(states))
  })

  it('decodes only a key-group range when asked', async () => {
    const storage = new MemoryCheckpointStorage()
    const handle = await writeSnapshot(storage, 1, states)
    const range = keyGroupRangeForSubtask(MAX_PARALLELISM, 4, 3)
    const partial = await Promise.all(handle.metadata.operators[0].subtasks.map((h) => storage.readSubtaskState(handle, h!, range)))
    assert.deepEqual(readBack(partial, 3, 4), readBack(states, 3, 4))
  })

  it('reports a corrupted state file with the checkpoint and the file', async () => {
    const storage = new MemoryCheckpointStorage()
    const handle = await writeSnapshot(storage, 2, states)
    storage.corruptFile(2, 'count-0.state')
    await assert.rejects(storage.readSubtaskState(handle, handle.metadata.operators[0].subtasks[0]!), isCode('CHECKPOINT_CORRUPT', 'count-0.state', 'checkpoint 2', 'SHA-256'))
  })

  it('reports a deleted state file as missing', async () => {
    const storage = new MemoryCheckpointStorage()
    const handle = await writeSnapshot(storage, 2, states)
    storage.deleteFile(2, 'count-1.state')
    await assert.rejects(storage.readSubtaskState(handle, handle.metadata.operators[0].subtasks[1]!), isCode('CHECKPOINT_FILE_MISSING', 'count-1.state', 'checkpoint 2'))
  })

  it('skips incomplete checkpoints and corrupt metadata in listCompleted, with reasons', async () => {
    const storage = new MemoryCheckpointStorage()
    await writeSnapshot(storage, 1, states)
    await writeSnapshot(storage, 2, states)
    await writeSnapshot(storage, 3, states)
    await storage.writeSubtaskState(4, 'checkpoint', 'count', 0, states[0])
    storage.corruptFile(2, '_metadata', 60)
    const listed = await storage.listCompleted()
    assert.deepEqual(
      listed.map((c) => c.checkpointId),
      [1, 3],
    )
    assert.deepEqual(
      storage.lastListProblems.map((p) => p.checkpointId),
      [2, 4],
    )
    assert.match(storage.lastListProblems[0].reason, /memory:\/\/job\/chk-2\/_metadata is corrupt/)
    assert.match(storage.lastListProblems[1].reason, /no _metadata/)
  })

  it('discards checkpoints, and refuses to rewrite a completed one', async () => {
    const storage = new MemoryCheckpointStorage()
    await writeSnapshot(storage, 1, states)
    await assert.rejects(storage.writeSubtaskState(1, 'checkpoint', 'count', 0, states[0]), isCode('CHECKPOINT_EXISTS'))
    await storage.discard(1)
    assert.deepEqual(await storage.listCompleted(), [])
    await writeSnapshot(storage, 1, states)
  })

  it('keeps savepoints apart from checkpoints', async () => {
    const storage = new MemoryCheckpointStorage()
    await writeSnapshot(storage, 5, states, { kind: 'savepoint' })
    assert.deepEqual(await storage.listCompleted(), [])
    const savepoint = await storage.openSavepoint(5)
    assert.equal(savepoint.kind, 'savepoint')
    const read = await Promise.all(savepoint.metadata.operators[0].subtasks.map((h) => storage.readSubtaskState(savepoint, h!)))
    assert.deepEqual(readBack(read), readBack(states))
  })
})
