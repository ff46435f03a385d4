import { StateError } from '../../errors.ts'
import type { PendingKeyedSnapshot } from '../keyed-state-backend.ts'
import type { KeyIdentity } from '../key-serialization.ts'
import type { KeyedStateMetaInfo, KeyedStateSnapshot } from '../snapshot.ts'
import type { HeapState } from './heap-state.ts'
import type { RestoredState } from './restored-state.ts'
import { encodeKeyEntry, packKeyGroup, SnapshotScope, type KeyGroupItem, type RawEntry } from './snapshot-codec.ts'
import { KeyEntry, NamespaceEntry, type CopyOnWriteGuard } from './state-table.ts'

/** What a heap snapshot covers, taken when it begins. */
export interface HeapSnapshotOptions {
  maxParallelism: number
  keyGroupRange: { start: number; end: number }
  /** The time TTL expiry is judged at. */
  now: number
  states: readonly HeapState<unknown, unknown>[]
  restored: readonly RestoredState[]
  /**
   * The copy-on-write version: the snapshot protects its view against later writes. Without it the
   * snapshot must be written to the end before the state changes again (`snapshot()`).
   */
  version?: number
  /** Called once when the snapshot is finished, discarded or failed. */
  onEnd?: () => void
}

type Phase = 'running' | 'done' | 'failed' | 'discarded'

/** Reads one state's entries of one key group, a bounded amount at a time. */
interface GroupReader {
  /** Whether the key group opened last has been read to its end. */
  readonly exhausted: boolean
  open(groupIndex: number): void
  /** Appends entries of the open key group to `out`, spending up to `budget`; returns what is left. */
  read(budget: number, out: RawEntry[]): number
}

/**
 * A snapshot of the heap backend, written key group by key group in steps.
 *
 * Its content is that of the tables when it began. The tables are not copied then: each table
 * gets a guard, and until the snapshot has written a key group, the first change of an entry in it
 * (or a read that gives out an object the caller may change) first hands the entry's current
 * content to the snapshot. An entry whose values cannot change in place (numbers, strings, TTL
 * boxes of them) is copied shallowly, as Flink does; one holding lists, maps or objects is encoded
 * right away instead of deep-copied, which is the work the snapshot would do for it later anyway.
 * Keys emptied meanwhile stay in their group's Map until the snapshot is past the group, so walking
 * the live Map still meets every key of the snapshot in its original order; keys added meanwhile
 * carry the new version and are skipped.
 * The output is therefore the bytes `snapshot()` would have given when the snapshot began.
 */
export class HeapSnapshotRun implements PendingKeyedSnapshot {
  /** The key group (index from the range start) being written; guards stop protecting below it. */
  groupCursor = 0
  private stateCursor = 0
  private opened = false
  private entries: RawEntry[] = []
  private items: KeyGroupItem[] = []
  private itemsSize = 0
  private readonly numGroups: number
  private readonly scope: SnapshotScope
  private readonly readers: GroupReader[] = []
  private readonly guards: TableGuard<unknown>[] = []
  private readonly metas: KeyedStateMetaInfo[]
  private readonly keyGroups = new Map<number, Uint8Array>()
  private phase: Phase = 'running'
  private failure: unknown = undefined
  private snapshot: KeyedStateSnapshot | undefined

  constructor(private readonly options: HeapSnapshotOptions) {
    const { keyGroupRange, now, states, restored, version } = options
    this.numGroups = keyGroupRange.end - keyGroupRange.start + 1
    this.scope = new SnapshotScope(now)
    this.metas = [...states.map((state) => state.metaInfo()), ...restored.map((state) => state.metaInfo())]
    for (const state of states) {
      let guard: TableGuard<unknown> | null = null
      if (version !== undefined) {
        guard = new TableGuard(version, this, state, this.scope)
        this.guards.push(guard)
        state.table.attach(guard)
      }
      this.readers.push(new TableReader(state, this.scope, version ?? Number.POSITIVE_INFINITY, guard))
    }
    for (const state of restored) this.readers.push(new RestoredReader(state, version === undefined ? state.groups : state.freeze(), now))
  }

  step(maxEntries: number): boolean {
    if (this.phase === 'done') return true
    if (this.phase === 'failed') throw this.failure
    if (this.phase === 'discarded') throw new StateError('This keyed state snapshot was discarded; it cannot be written further')
    const initial = maxEntries >= 1 ? maxEntries : 1
    let budget = initial
    try {
      while (this.groupCursor < this.numGroups) {
        const groupIndex = this.groupCursor
        while (this.stateCursor < this.readers.length) {
          const reader = this.readers[this.stateCursor]
          if (!this.opened) {
            reader.open(groupIndex)
            this.opened = true
          }
          budget = reader.read(budget, this.entries)
          if (!reader.exhausted) return false
          if (this.entries.length > 0) {
            this.items.push([this.stateCursor, this.entries])
            this.itemsSize += this.entries.length
            this.entries = []
          }
          this.stateCursor++
          this.opened = false
        }
        // A key group is packed in one call: the packer writes repeated key and namespace bytes as
        // references within it, so splitting would change the bytes. It counts as its entries, and
        // a step that has already worked leaves a large one to the next step instead of running long.
        if (this.itemsSize > budget && budget < initial) return false
        budget -= this.itemsSize
        this.endGroup(groupIndex)
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

  /** Ends the snapshot when it can no longer be right (a serializer threw); later steps throw the error. */
  fail(error: unknown): void {
    if (this.phase !== 'running') return
    this.phase = 'failed'
    this.failure = error
    this.items = []
    this.entries = []
    this.release()
  }

  private endGroup(groupIndex: number): void {
    if (this.items.length > 0) this.keyGroups.set(this.options.keyGroupRange.start + groupIndex, packKeyGroup(this.items))
    this.items = []
    this.itemsSize = 0
    this.scope.endKeyGroup(groupIndex)
    for (const guard of this.guards) guard.endGroup(groupIndex)
    this.groupCursor++
    this.stateCursor = 0
  }

  private finish(): void {
    const { maxParallelism, keyGroupRange } = this.options
    this.snapshot = {
      maxParallelism,
      keyGroupRange: { start: keyGroupRange.start, end: keyGroupRange.end },
      states: this.metas,
      keyGroups: this.keyGroups,
    }
    this.phase = 'done'
    this.release()
  }

  /** Stops all copy-on-write and gives back the empty entries kept for the snapshot. */
  private release(): void {
    for (const guard of this.guards) guard.release()
    this.guards.length = 0
    this.readers.length = 0
    this.options.onEnd?.()
  }
}

/** Walks a live state table; entries changed since the snapshot began are taken from the guard. */
class TableReader<V> implements GroupReader {
  exhausted = true
  private iterator: Iterator<[KeyIdentity, KeyEntry<V>]> | undefined
  private groupIndex = 0

  constructor(
    private readonly state: HeapState<unknown, V>,
    private readonly scope: SnapshotScope,
    private readonly version: number,
    private readonly guard: TableGuard<V> | null,
  ) {}

  open(groupIndex: number): void {
    this.groupIndex = groupIndex
    this.iterator = this.state.table.group(groupIndex).entries()
    this.exhausted = false
  }

  read(budget: number, out: RawEntry[]): number {
    const iterator = this.iterator
    if (iterator === undefined) return budget
    const { codec, namespaceSerializer } = this.state
    const { scope, version, guard, groupIndex } = this
    while (budget > 0) {
      const next = iterator.next()
      if (next.done === true) {
        this.exhausted = true
        this.iterator = undefined
        return budget
      }
      const [keyId, entry] = next.value
      if (entry.version < version) budget -= encodeKeyEntry(groupIndex, keyId, entry, codec, namespaceSerializer, scope, out)
      else if (guard !== null) budget -= guard.takePreserved(groupIndex, keyId, out)
      else budget -= 1
    }
    return budget
  }
}

/** Reads a restored, not yet bound state from the arrays it held when the snapshot began. */
class RestoredReader implements GroupReader {
  exhausted = true
  private list: readonly RawEntry[] = []
  private index = 0

  constructor(
    private readonly state: RestoredState,
    private readonly groups: ReadonlyMap<number, readonly RawEntry[]>,
    private readonly now: number,
  ) {}

  open(groupIndex: number): void {
    this.list = this.groups.get(groupIndex) ?? []
    this.index = 0
    this.exhausted = false
  }

  read(budget: number, out: RawEntry[]): number {
    const list = this.list
    while (budget > 0 && this.index < list.length) {
      const entry = this.state.snapshotEntry(list[this.index++], this.now)
      if (entry !== undefined) out.push(entry)
      budget--
    }
    if (this.index >= list.length) {
      this.exhausted = true
      this.list = []
    }
    return budget
  }
}

/**
 * Copy-on-write of one table for one snapshot: holds the encoded content of entries changed
 * before the snapshot reached their key group, and the keys emptied meanwhile.
 */
class TableGuard<V> implements CopyOnWriteGuard<V> {
  /** Per key group and key: the entry's snapshot entries, or a copy of it to encode when the group is written. */
  private readonly preserved = new Map<number, Map<KeyIdentity, RawEntry[] | KeyEntry<V>>>()
  private readonly kept = new Map<number, Set<KeyIdentity>>()

  constructor(
    readonly version: number,
    private readonly run: HeapSnapshotRun,
    private readonly state: HeapState<unknown, V>,
    private readonly scope: SnapshotScope,
  ) {}

  exposes(value: V): boolean {
    return this.state.exposes(value)
  }

  preserve(groupIndex: number, keyId: KeyIdentity, entry: KeyEntry<V>): void {
    // Set first: even when the group is written already or encoding fails, this entry is done with.
    entry.version = this.version
    if (groupIndex < this.run.groupCursor) return
    let kept: RawEntry[] | KeyEntry<V>
    if (this.immutable(entry)) {
      // Values nobody can change in place: a shallow copy of the entry is enough, and far cheaper
      // on the record path than encoding; the step encodes it as it would have the original.
      kept = copyEntry(entry)
    } else {
      const out: RawEntry[] = []
      try {
        encodeKeyEntry(groupIndex, keyId, entry, this.state.codec, this.state.namespaceSerializer, this.scope, out)
      } catch (error) {
        // The caller is processing a record: its write goes on, the snapshot is what failed.
        this.run.fail(error)
        return
      }
      kept = out
    }
    let byKey = this.preserved.get(groupIndex)
    if (byKey === undefined) {
      byKey = new Map()
      this.preserved.set(groupIndex, byKey)
    }
    byKey.set(keyId, kept)
  }

  private immutable(entry: KeyEntry<V>): boolean {
    if (entry.voidValue !== undefined && this.state.exposes(entry.voidValue)) return false
    if (entry.namespaces !== undefined) for (const slot of entry.namespaces.values()) if (this.state.exposes(slot.value)) return false
    return true
  }

  keepsEmpty(groupIndex: number, keyId: KeyIdentity): boolean {
    if (groupIndex < this.run.groupCursor) return false
    let keys = this.kept.get(groupIndex)
    if (keys === undefined) {
      keys = new Set()
      this.kept.set(groupIndex, keys)
    }
    keys.add(keyId)
    return true
  }

  /** Appends what the entry held when the snapshot began; nothing for a key added since. */
  takePreserved(groupIndex: number, keyId: KeyIdentity, out: RawEntry[]): number {
    const kept = this.preserved.get(groupIndex)?.get(keyId)
    if (kept === undefined) return 1
    if (kept instanceof KeyEntry) return encodeKeyEntry(groupIndex, keyId, kept, this.state.codec, this.state.namespaceSerializer, this.scope, out)
    for (const entry of kept) out.push(entry)
    return kept.length === 0 ? 1 : kept.length
  }

  endGroup(groupIndex: number): void {
    this.preserved.delete(groupIndex)
    const keys = this.kept.get(groupIndex)
    if (keys !== undefined) {
      this.state.table.dropEmpty(groupIndex, keys)
      this.kept.delete(groupIndex)
    }
  }

  release(): void {
    this.state.table.detach(this)
    for (const [groupIndex, keys] of this.kept) this.state.table.dropEmpty(groupIndex, keys)
    this.kept.clear()
    this.preserved.clear()
  }
}

/** A copy of an entry that later writes to the original cannot reach: its slots are copied too. */
function copyEntry<V>(entry: KeyEntry<V>): KeyEntry<V> {
  const copy = new KeyEntry<V>(entry.key, entry.version)
  copy.voidValue = entry.voidValue
  if (entry.namespaces !== undefined) {
    const namespaces = new Map<KeyIdentity, NamespaceEntry<V>>()
    for (const [nsId, slot] of entry.namespaces) namespaces.set(nsId, new NamespaceEntry(slot.namespace, slot.value))
    copy.namespaces = namespaces
  }
  return copy
}
