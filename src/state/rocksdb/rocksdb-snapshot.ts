import { StateError } from '../../errors.ts'
import { packKeyGroup, type KeyGroupItem, type RawEntry } from '../heap/snapshot-codec.ts'
import type { PendingKeyedSnapshot } from '../keyed-state-backend.ts'
import type { KeyedStateMetaInfo, KeyedStateSnapshot } from '../snapshot.ts'
import { droppedAt, type RowFormat } from './row-format.ts'
import { keyGroupStart, parseRowKey, RowKeyParts } from './row-key.ts'
import type { RocksDBInstance, RowCursor } from './rocksdb-instance.ts'
import { decodeElements, expiryOf, mapUserKeyBytes, mapValueBytes, valueBytes } from './value-codec.ts'

/** What a RocksDB snapshot covers, fixed when it begins. */
export interface RocksSnapshotOptions {
  db: RocksDBInstance
  maxParallelism: number
  keyGroupRange: { start: number; end: number }
  /** The time TTL expiry is judged at. */
  now: number
  metas: KeyedStateMetaInfo[]
  /** One per meta, in the same order. */
  formats: RowFormat[]
  /** Called once when the snapshot is finished, discarded or failed. */
  onEnd?: () => void
}

type Phase = 'running' | 'done' | 'failed' | 'discarded'

/** Rows fetched per native call while a snapshot reads. */
const SNAPSHOT_BATCH = 512

/**
 * Per-snapshot scratch: the same bytes object is reused wherever a key (or namespace) repeats, and
 * the packer writes a repeated object as a reference, which keeps a key held by several states
 * from being written once per state.
 */
class BytesScope {
  private keys = new Map<string, Buffer>()
  private readonly namespaces = new Map<string, Buffer>()

  key(bytes: Buffer): Buffer {
    const id = bytes.toString('latin1')
    const known = this.keys.get(id)
    if (known !== undefined) return known
    this.keys.set(id, bytes)
    return bytes
  }

  namespace(bytes: Buffer): Buffer {
    const id = bytes.toString('latin1')
    const known = this.namespaces.get(id)
    if (known !== undefined) return known
    this.namespaces.set(id, bytes)
    return bytes
  }

  /** Keys belong to one key group, so their cache can go once the group is written. */
  endKeyGroup(): void {
    this.keys = new Map()
  }
}

/**
 * Reads one state's rows in key order through a cursor opened when the snapshot began. Rows are
 * ordered by key group within a state, so reading the groups in order never seeks.
 */
class StateReader {
  /** Whether the rows of the key group asked for last are all read. */
  exhausted = false
  private loaded = false
  private ended = false
  private readonly parts = new RowKeyParts()
  /** The (key, namespace) of the last map entry written, to put its next user keys into it. */
  private lastMapPrefix: Buffer | undefined = undefined

  constructor(
    private readonly format: RowFormat,
    private readonly cursor: RowCursor,
    private readonly scope: BytesScope,
    private readonly now: number,
  ) {}

  /** Starts reading a key group. */
  open(): void {
    this.exhausted = false
    this.lastMapPrefix = undefined
  }

  /** Appends entries of `keyGroup` to `out`, spending up to `budget` rows; returns what is left. */
  read(keyGroup: number, budget: number, out: RawEntry[]): number {
    const { cursor, parts } = this
    while (budget > 0) {
      if (!this.loaded) {
        if (this.ended || !cursor.next()) {
          this.ended = true
          this.exhausted = true
          return budget
        }
        parseRowKey(cursor.key, parts)
        this.loaded = true
      }
      if (parts.keyGroup !== keyGroup) {
        this.exhausted = true
        return budget
      }
      this.loaded = false
      budget--
      this.add(cursor.key, cursor.value, out)
    }
    return budget
  }

  private add(row: Buffer, stored: Buffer, out: RawEntry[]): void {
    const { format, parts, scope, now } = this
    switch (format.shape) {
      case 'single': {
        const expiresAt = format.snapshotExpiry(expiryOf(stored))
        if (droppedAt(format, expiresAt, now)) return
        out.push([scope.key(parts.key(row)), scope.namespace(parts.namespace(row)), [valueBytes(stored), expiresAt]])
        return
      }
      case 'list': {
        const elements: [Buffer, number][] = []
        for (const element of decodeElements(stored)) {
          const expiresAt = format.snapshotExpiry(element.expiresAt)
          if (!droppedAt(format, expiresAt, now)) elements.push([element.bytes, expiresAt])
        }
        if (elements.length > 0) out.push([scope.key(parts.key(row)), scope.namespace(parts.namespace(row)), elements])
        return
      }
      case 'map': {
        const expiresAt = format.snapshotExpiry(expiryOf(stored))
        if (droppedAt(format, expiresAt, now)) return
        const entry: [Buffer, Buffer, number] = [mapUserKeyBytes(stored), mapValueBytes(stored), expiresAt]
        const prefix = parts.keyAndNamespace(row)
        const last = this.lastMapPrefix
        if (last !== undefined && last.equals(prefix) && out.length > 0) {
          ;(out[out.length - 1][2] as [Buffer, Buffer, number][]).push(entry)
          return
        }
        this.lastMapPrefix = prefix
        out.push([scope.key(parts.key(row)), scope.namespace(parts.namespace(row)), [entry]])
        return
      }
    }
  }

  close(): void {
    this.cursor.close()
  }
}

/**
 * A snapshot of the RocksDB backend, written key group by key group in steps.
 *
 * When it begins, the backend's pending writes are flushed and one cursor per state is opened;
 * RocksDB gives each cursor the database as it was at that moment (an implicit RocksDB snapshot),
 * so writes and restores made while the snapshot is stepped do not reach it and nothing has to be
 * copied. The cursors pin that view (memtables and files) until the snapshot ends.
 */
export class RocksSnapshotRun implements PendingKeyedSnapshot {
  private groupIndex = 0
  private stateCursor = 0
  private opened = false
  private entries: RawEntry[] = []
  private items: KeyGroupItem[] = []
  private itemsSize = 0
  private readonly numGroups: number
  private readonly scope = new BytesScope()
  private readonly readers: StateReader[] = []
  private readonly keyGroups = new Map<number, Uint8Array>()
  private phase: Phase = 'running'
  private failure: unknown = undefined
  private snapshot: KeyedStateSnapshot | undefined

  constructor(private readonly options: RocksSnapshotOptions) {
    const { db, keyGroupRange, formats, now } = options
    this.numGroups = keyGroupRange.end - keyGroupRange.start + 1
    for (const format of formats) {
      const cursor = db.cursor(keyGroupStart(format.stateId, keyGroupRange.start), keyGroupStart(format.stateId, keyGroupRange.end + 1), {
        batchSize: SNAPSHOT_BATCH,
        fillCache: false,
      })
      this.readers.push(new StateReader(format, cursor, this.scope, now))
    }
  }

  step(maxEntries: number): boolean {
    if (this.phase === 'done') return true
    if (this.phase === 'failed') throw this.failure
    if (this.phase === 'discarded') throw new StateError('This keyed state snapshot was discarded; it cannot be written further')
    const initial = maxEntries >= 1 ? maxEntries : 1
    let budget = initial
    try {
      while (this.groupIndex < this.numGroups) {
        const keyGroup = this.options.keyGroupRange.start + this.groupIndex
        while (this.stateCursor < this.readers.length) {
          const reader = this.readers[this.stateCursor]
          if (!this.opened) {
            reader.open()
            this.opened = true
          }
          budget = reader.read(keyGroup, budget, this.entries)
          if (!reader.exhausted) return false
          if (this.entries.length > 0) {
            this.items.push([this.stateCursor, this.entries])
            this.itemsSize += this.entries.length
            this.entries = []
          }
          this.stateCursor++
          this.opened = false
        }
        // Packing a key group cannot be split; it counts as its entries, so a step that has
        // already worked leaves a large one to the next step instead of running long.
        if (this.itemsSize > budget && budget < initial) return false
        budget -= this.itemsSize
        this.endGroup(keyGroup)
      }
    } catch (error) {
      this.fail(error)
      throw error
    }
    this.finish()
    return true
  }

  result(): KeyedStateSnapshot {
    if (this.snapshot === undefined) {
      throw new StateError(this.phase === 'running' ? 'The keyed state snapshot is not written yet: call step() until it returns true' : `The keyed state snapshot was ${this.phase}`)
    }
    return this.snapshot
  }

  discard(): void {
    if (this.phase === 'discarded' || this.phase === 'failed') return
    const wasRunning = this.phase === 'running'
    this.phase = 'discarded'
    this.snapshot = undefined
    this.items = []
    this.entries = []
    if (wasRunning) this.release()
  }

  /** Ends the snapshot when it can no longer be right; later steps throw the error. */
  private fail(error: unknown): void {
    if (this.phase !== 'running') return
    this.phase = 'failed'
    this.failure = error
    this.items = []
    this.entries = []
    this.release()
  }

  private endGroup(keyGroup: number): void {
    if (this.items.length > 0) this.keyGroups.set(keyGroup, packKeyGroup(this.items))
    this.items = []
    this.itemsSize = 0
    this.scope.endKeyGroup()
    this.groupIndex++
    this.stateCursor = 0
  }

  private finish(): void {
    const { maxParallelism, keyGroupRange, metas } = this.options
    this.snapshot = {
      maxParallelism,
      keyGroupRange: { start: keyGroupRange.start, end: keyGroupRange.end },
      states: metas,
      keyGroups: this.keyGroups,
    }
    this.phase = 'done'
    this.release()
  }

  /** Closes the cursors, which lets RocksDB drop the view they pinned. */
  private release(): void {
    for (const reader of this.readers) reader.close()
    this.readers.length = 0
    this.options.onEnd?.()
  }
}
