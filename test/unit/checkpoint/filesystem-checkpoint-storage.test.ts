import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SkippedCheckpoint } from '../../../src/checkpoint/checkpoint-storage.ts'
import { FileSystemCheckpointStorage, openSnapshot, readSnapshotSubtaskState } from '../../../src/checkpoint/filesystem-checkpoint-storage.ts'
import { encodeMetadata } from '../../../src/checkpoint/metadata-codec.ts'
import { checkpointsToDiscard } from '../../../src/checkpoint/retention.ts'
import { keyGroupRangeForSubtask } from '../../../src/state/key-groups.ts'
import { comparable, makeSubtaskState, MAX_PARALLELISM, readBack } from './fixtures.ts'
import { isCode, writeSnapshot } from './storage-helpers.ts'

let root: string
let n = 0
const states = [makeSubtaskState(0, 2), makeSubtaskState(1, 2)]

/** A fresh base directory per test, so tests never see each other's checkpoints. */
async function fresh(options: ConstructorParameters<typeof FileSystemCheckpointStorage>[2] = {}): Promise<{ base: string; storage: FileSystemCheckpointStorage }> {
  const base = join(root, `t${n++}`)
  await mkdir(base)
  return { base, storage: new FileSystemCheckpointStorage(base, 'job-a', options) }
}

describe('FileSystemCheckpointStorage', () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'weir-fs-storage-'))
  })
  after(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('writes state files then _metadata in <base>/<job>/chk-<n>, lists and reads them back', async () => {
    const { base, storage } = await fresh()
    const handle = await writeSnapshot(storage, 1, states)
    assert.equal(handle.pointer, join(base, 'job-a', 'chk-1'))
    assert.deepEqual((await readdir(handle.pointer)).sort(), ['_metadata', 'count-0.state', 'count-1.state'])
    const listed = await storage.listCompleted()
    assert.deepEqual(
      listed.map((c) => [c.checkpointId, c.kind, c.pointer]),
      [[1, 'checkpoint', handle.pointer]],
    )
    assert.deepEqual(listed[0].metadata, handle.metadata)
    const read = await Promise.all(listed[0].metadata.operators[0].subtasks.map((h) => storage.readSubtaskState(listed[0], h!)))
    assert.deepEqual(comparable(read), comparable(states))
    assert.deepEqual(storage.lastListProblems, [])
  })

  it('lists checkpoints oldest first by number, not by name', async () => {
    const { storage } = await fresh()
    for (const id of [10, 2, 9]) await writeSnapshot(storage, id, [states[0]])
    assert.deepEqual(
      (await storage.listCompleted()).map((c) => c.checkpointId),
      [2, 9, 10],
    )
  })

  it('reads only the key groups asked for', async () => {
    const { storage } = await fresh()
    const handle = await writeSnapshot(storage, 1, states)
    const range = keyGroupRangeForSubtask(MAX_PARALLELISM, 3, 1)
    const partial = await Promise.all(handle.metadata.operators[0].subtasks.map((h) => storage.readSubtaskState(handle, h!, range)))
    for (const s of partial) for (const g of s.keyed!.keyGroups.keys()) assert.ok(range.contains(g))
    assert.deepEqual(readBack(partial, 1, 3), readBack(states, 1, 3))
  })

  it('does not list a checkpoint without _metadata, nor one with only a crashed temporary metadata file', async () => {
    const { storage } = await fresh()
    await writeSnapshot(storage, 1, states)
    // Checkpoint 2: state files written, then the process died before the metadata.
    await storage.writeSubtaskState(2, 'checkpoint', 'count', 0, states[0])
    // Checkpoint 3: died while writing the metadata's temporary file.
    await storage.writeSubtaskState(3, 'checkpoint', 'count', 0, states[0])
    await writeFile(join(storage.snapshotDir(3), '._metadata.1a2b3c.tmp'), encodeMetadata(writeMetadataFor(3)).subarray(0, 40))
    const listed = await storage.listCompleted()
    assert.deepEqual(
      listed.map((c) => c.checkpointId),
      [1],
    )
    assert.deepEqual(
      storage.lastListProblems.map((p) => [p.checkpointId, p.reason]),
      [
        [2, 'no _metadata (the checkpoint did not complete)'],
        [3, 'no _metadata (the checkpoint did not complete)'],
      ],
    )
  })

  it('leaves no temporary file behind after a commit', async () => {
    const { storage } = await fresh()
    const handle = await writeSnapshot(storage, 1, states)
    assert.ok((await readdir(handle.pointer)).every((name) => !name.endsWith('.tmp')))
  })

  it('skips a checkpoint whose _metadata is corrupt, with the reason, and reports it to onSkipped', async () => {
    const seen: SkippedCheckpoint[] = []
    const { storage } = await fresh({ onSkipped: (p) => seen.push(p) })
    await writeSnapshot(storage, 1, states)
    const second = await writeSnapshot(storage, 2, states)
    const file = join(second.pointer, '_metadata')
    const bytes = await readFile(file)
    const edited = bytes.toString('utf8').replace('"checkpointId": 2', '"checkpointId": 3')
    assert.notEqual(edited, bytes.toString('utf8'))
    await writeFile(file, edited)
    const listed = await storage.listCompleted()
    assert.deepEqual(
      listed.map((c) => c.checkpointId),
      [1],
    )
    assert.equal(storage.lastListProblems.length, 1)
    const problem = storage.lastListProblems[0]
    assert.equal(problem.checkpointId, 2)
    assert.equal(problem.pointer, second.pointer)
    assert.match(problem.reason, /SHA-256/)
    assert.ok(problem.reason.includes(file))
    assert.deepEqual(seen, [problem])
  })

  it('skips a checkpoint whose _metadata is truncated', async () => {
    const { storage } = await fresh()
    const handle = await writeSnapshot(storage, 4, states)
    await truncate(join(handle.pointer, '_metadata'), 30)
    assert.deepEqual(await storage.listCompleted(), [])
    assert.match(storage.lastListProblems[0].reason, /not valid JSON/)
  })

  it('reports a flipped byte in a state file, naming the file, the checkpoint and the checksum', async () => {
    const { storage } = await fresh()
    const handle = await writeSnapshot(storage, 5, states)
    const file = join(handle.pointer, 'count-1.state')
    const bytes = await readFile(file)
    bytes[Math.floor(bytes.length / 2)] ^= 0x01
    await writeFile(file, bytes)
    await assert.rejects(storage.readSubtaskState(handle, handle.metadata.operators[0].subtasks[1]!), isCode('CHECKPOINT_CORRUPT', file, 'checkpoint 5', 'SHA-256'))
    // The other subtask's file is still fine.
    await storage.readSubtaskState(handle, handle.metadata.operators[0].subtasks[0]!)
  })

  it('reports a truncated state file as a size mismatch', async () => {
    const { storage } = await fresh()
    const handle = await writeSnapshot(storage, 6, states)
    const subtask = handle.metadata.operators[0].subtasks[0]!
    await truncate(join(handle.pointer, subtask.path), 100)
    await assert.rejects(storage.readSubtaskState(handle, subtask), isCode('CHECKPOINT_CORRUPT', subtask.path, 'checkpoint 6', `has 100 bytes, the metadata records ${subtask.size}`))
  })

  it('reports a deleted state file as missing', async () => {
    const { storage } = await fresh()
    const handle = await writeSnapshot(storage, 7, states)
    const subtask = handle.metadata.operators[0].subtasks[0]!
    await unlink(join(handle.pointer, subtask.path))
    await assert.rejects(storage.readSubtaskState(handle, subtask), isCode('CHECKPOINT_FILE_MISSING', join(handle.pointer, subtask.path), 'checkpoint 7'))
  })

  it('refuses to complete a checkpoint whose metadata names a file that was not written', async () => {
    const { storage } = await fresh()
    const metadata = writeMetadataFor(8)
    await assert.rejects(storage.commit(metadata), isCode('CHECKPOINT_FILE_MISSING', 'count-0.state'))
    assert.deepEqual(await storage.listCompleted(), [])
  })

  it('refuses state paths in metadata that leave the snapshot directory', async () => {
    const { storage } = await fresh()
    const handle = await writeSnapshot(storage, 1, states)
    const subtask = { ...handle.metadata.operators[0].subtasks[0]!, path: '../../etc/passwd' }
    await assert.rejects(storage.readSubtaskState(handle, subtask), isCode('CHECKPOINT_CORRUPT', '../../etc/passwd'))
  })

  it('refuses to write into a checkpoint that is already complete (another run with the same job id)', async () => {
    const { base, storage } = await fresh()
    await writeSnapshot(storage, 1, states)
    const again = new FileSystemCheckpointStorage(base, 'job-a')
    await assert.rejects(again.writeSubtaskState(1, 'checkpoint', 'count', 0, states[0]), isCode('CHECKPOINT_EXISTS', 'checkpoint 1'))
    const [only] = await again.listCompleted()
    await again.readSubtaskState(only, only.metadata.operators[0].subtasks[0]!)
  })

  it('names state files by escaped uid and subtask, so no uid can reach outside the directory or collide', async () => {
    const { storage } = await fresh()
    const uids = ['a/b', 'a_b', '../x', '.hidden', '_metadata', 'ünï cödé', 'x'.repeat(300)]
    const names: string[] = []
    for (const uid of uids) names.push((await storage.writeSubtaskState(1, 'checkpoint', uid, 3, states[0])).path)
    assert.equal(new Set(names).size, uids.length)
    for (const name of names) {
      assert.match(name, /^[A-Za-z0-9_%~-]+-3\.state$/)
      assert.ok(name.length < 120)
    }
    assert.deepEqual((await readdir(storage.snapshotDir(1))).sort(), [...names].sort())
  })

  it('discards a checkpoint directory, and retention keeps the newest', async () => {
    const { storage } = await fresh()
    for (const id of [1, 2, 3, 4]) await writeSnapshot(storage, id, [states[0]])
    for (const old of checkpointsToDiscard(await storage.listCompleted(), 2)) await storage.discard(old.checkpointId)
    assert.deepEqual(
      (await storage.listCompleted()).map((c) => c.checkpointId),
      [3, 4],
    )
    await assert.rejects(stat(storage.snapshotDir(1)), /ENOENT/)
    await storage.discard(99)
  })

  it('lists nothing for a job that never checkpointed', async () => {
    const { storage } = await fresh()
    assert.deepEqual(await storage.listCompleted(), [])
  })

  it('opens a checkpoint directory copied elsewhere, by directory or by its _metadata file', async () => {
    const { base, storage } = await fresh()
    const handle = await writeSnapshot(storage, 3, states)
    const copy = join(base, 'elsewhere', 'retained-3')
    await cp(handle.pointer, copy, { recursive: true })
    await rm(join(base, 'job-a'), { recursive: true })
    for (const pointer of [copy, join(copy, '_metadata')]) {
      const opened = await openSnapshot(pointer)
      assert.equal(opened.pointer, copy)
      assert.equal(opened.checkpointId, 3)
      assert.equal(opened.kind, 'checkpoint')
      const read = await Promise.all(opened.metadata.operators[0].subtasks.map((h) => readSnapshotSubtaskState(opened, h!)))
      assert.deepEqual(readBack(read), readBack(states))
    }
  })

  it('writes savepoints to the savepoint directory, where listCompleted does not look, and openSnapshot reads them', async () => {
    const savepointDir = join(root, `savepoints-${n}`)
    const { storage } = await fresh({ savepointDir })
    const savepoint = await writeSnapshot(storage, 12, states, { kind: 'savepoint' })
    assert.equal(savepoint.pointer, join(savepointDir, 'savepoint-job-a-12'))
    assert.equal(savepoint.kind, 'savepoint')
    assert.deepEqual(await storage.listCompleted(), [])
    const opened = await openSnapshot(savepoint.pointer)
    assert.equal(opened.kind, 'savepoint')
    const read = await Promise.all(opened.metadata.operators[0].subtasks.map((h) => readSnapshotSubtaskState(opened, h!)))
    assert.deepEqual(readBack(read), readBack(states))
  })

  it('gives clear errors for a path that is not a snapshot', async () => {
    const { base } = await fresh()
    await assert.rejects(openSnapshot(join(base, 'nope')), isCode('CHECKPOINT_FILE_MISSING', 'does not exist'))
    await mkdir(join(base, 'empty'))
    await assert.rejects(openSnapshot(join(base, 'empty')), isCode('CHECKPOINT_FILE_MISSING', 'no _metadata'))
  })
})

/** Metadata naming a state file of checkpoint `id` that a test may or may not have written. */
function writeMetadataFor(id: number): Parameters<FileSystemCheckpointStorage['commit']>[0] {
  return {
    formatVersion: 1,
    kind: 'checkpoint',
    jobId: 'job-a',
    jobName: 't',
    checkpointId: id,
    timestamp: 0,
    operators: [{ uid: 'count', name: 'c', parallelism: 1, maxParallelism: MAX_PARALLELISM, subtasks: [{ path: 'count-0.state', size: 1, sha256: '0'.repeat(64) }] }],
    sourceEnumerators: [],
  }
}
