import type { KeyIdentity } from '../key-serialization.ts'
import { noCurrentKeyError, type KeyContext } from './key-context.ts'

/** The value of one key in one non-void namespace, with the namespace object a snapshot writes. */
export class NamespaceEntry<V> {
  constructor(
    readonly namespace: unknown,
    public value: V,
  ) {}
}

/** Everything one state holds for one key. */
export class KeyEntry<V> {
  /** The void namespace has its own slot: most state is not in a window, and this skips a Map. */
  voidValue: V | undefined = undefined
  namespaces: Map<KeyIdentity, NamespaceEntry<V>> | undefined = undefined

  constructor(
    readonly key: unknown,
    /**
     * The snapshot epoch the entry was created or last handed over in. An entry older than a
     * running snapshot still holds what that snapshot must write, so it is handed to the snapshot
     * before it is changed.
     */
    public version: number,
  ) {}
}

/**
 * What a running snapshot asks of a table: to be shown an entry before its first change (or
 * before a read gives out an object the caller may change), and to keep emptied keys in place.
 */
export interface CopyOnWriteGuard<V> {
  /** Entries with a lower version are still unseen by the snapshot. */
  readonly version: number
  /** Whether a reader could change `value` in place, so reading it counts as a write. */
  exposes(value: V): boolean
  /** Takes over what the snapshot needs of the entry; sets its version so this happens once. */
  preserve(groupIndex: number, keyId: KeyIdentity, entry: KeyEntry<V>): void
  /**
   * Called when a key lost its last value. True when the entry must stay in the group's Map as an
   * empty placeholder: the snapshot walks that Map and relies on its order, which a deletion and
   * a later re-insertion (at the end) would change.
   */
  keepsEmpty(groupIndex: number, keyId: KeyIdentity): boolean
}

/**
 * One state's values: key group (index from the start of the backend's range), then key identity,
 * then namespace identity (0 is the void namespace). `undefined` is never stored: it means absent.
 * Values are live heap objects; the state kinds mutate lists and maps in place, which is why every
 * path that may change a value goes through `getForUpdate`, `put` or `remove`: while a snapshot
 * runs, those hand the entry to it first.
 *
 * Entries left empty while a snapshot runs stay in their group until the snapshot is past it; the
 * empty entry is reused if the key comes back, and never counts as having a value.
 */
export class StateTable<V> {
  private readonly groups: Map<KeyIdentity, KeyEntry<V>>[]
  private entryCount = 0
  /** The version new entries get: that of the latest snapshot begun. */
  private epoch = 0
  private guard: CopyOnWriteGuard<V> | null = null

  constructor(
    private readonly stateName: string,
    private readonly ctx: KeyContext,
    numKeyGroups: number,
  ) {
    this.groups = Array.from({ length: numKeyGroups }, () => new Map<KeyIdentity, KeyEntry<V>>())
  }

  private currentGroup(): Map<KeyIdentity, KeyEntry<V>> {
    const group = this.groups[this.ctx.groupIndex]
    if (group === undefined) throw noCurrentKeyError(this.stateName)
    return group
  }

  /** Makes writes hand entries older than `guard.version` to the guard first. */
  attach(guard: CopyOnWriteGuard<V>): void {
    this.guard = guard
    this.epoch = guard.version
  }

  /** Ends copy-on-write: writes are plain again. */
  detach(guard: CopyOnWriteGuard<V>): void {
    if (this.guard === guard) this.guard = null
  }

  /**
   * The current key's value in a namespace, to read only. While a snapshot runs, an object the
   * caller could change in place is handed to the snapshot first.
   */
  get(nsId: KeyIdentity): V | undefined {
    const entry = this.currentGroup().get(this.ctx.keyId)
    if (entry === undefined) return undefined
    const value = nsId === 0 ? entry.voidValue : entry.namespaces?.get(nsId)?.value
    // Kept out of line so this method stays small enough to be inlined into the state kinds.
    if (this.guard !== null) this.guardRead(entry, value)
    return value
  }

  private guardRead(entry: KeyEntry<V>, value: V | undefined): void {
    const guard = this.guard as CopyOnWriteGuard<V>
    if (value !== undefined && entry.version < guard.version && guard.exposes(value)) guard.preserve(this.ctx.groupIndex, this.ctx.keyId, entry)
  }

  private guardWrite(groupIndex: number, keyId: KeyIdentity, entry: KeyEntry<V>): void {
    const guard = this.guard as CopyOnWriteGuard<V>
    if (entry.version < guard.version) guard.preserve(groupIndex, keyId, entry)
  }

  /** The current key's value in a namespace, to be mutated in place. */
  getForUpdate(nsId: KeyIdentity): V | undefined {
    const entry = this.currentGroup().get(this.ctx.keyId)
    if (entry === undefined) return undefined
    if (this.guard !== null) this.guardWrite(this.ctx.groupIndex, this.ctx.keyId, entry)
    return nsId === 0 ? entry.voidValue : entry.namespaces?.get(nsId)?.value
  }

  put(nsId: KeyIdentity, namespace: unknown, value: V): void {
    this.putIn(this.ctx.groupIndex, this.currentGroup(), this.ctx.keyId, this.ctx.key, nsId, namespace, value)
  }

  /** Puts a value for any key; restore uses it. */
  putAt(groupIndex: number, keyId: KeyIdentity, key: unknown, nsId: KeyIdentity, namespace: unknown, value: V): void {
    this.putIn(groupIndex, this.groups[groupIndex], keyId, key, nsId, namespace, value)
  }

  private putIn(groupIndex: number, group: Map<KeyIdentity, KeyEntry<V>>, keyId: KeyIdentity, key: unknown, nsId: KeyIdentity, namespace: unknown, value: V): void {
    let entry = group.get(keyId)
    if (entry === undefined) {
      entry = new KeyEntry<V>(key, this.epoch)
      group.set(keyId, entry)
    } else if (this.guard !== null) {
      this.guardWrite(groupIndex, keyId, entry)
    }
    if (nsId === 0) {
      if (entry.voidValue === undefined) this.entryCount++
      entry.voidValue = value
      return
    }
    let namespaces = entry.namespaces
    if (namespaces === undefined) {
      namespaces = new Map()
      entry.namespaces = namespaces
    }
    const slot = namespaces.get(nsId)
    if (slot === undefined) {
      namespaces.set(nsId, new NamespaceEntry(namespace, value))
      this.entryCount++
    } else {
      slot.value = value
    }
  }

  remove(nsId: KeyIdentity): void {
    this.removeAndGet(nsId)
  }

  /** Removes the current key's value in a namespace and returns it; drops the key when it has no value left. */
  removeAndGet(nsId: KeyIdentity): V | undefined {
    const group = this.currentGroup()
    const keyId = this.ctx.keyId
    const entry = group.get(keyId)
    if (entry === undefined) return undefined
    let old: V | undefined
    if (nsId === 0) {
      old = entry.voidValue
      if (old === undefined) return undefined
      if (this.guard !== null) this.guardWrite(this.ctx.groupIndex, keyId, entry)
      entry.voidValue = undefined
    } else {
      const namespaces = entry.namespaces
      const slot = namespaces?.get(nsId)
      if (namespaces === undefined || slot === undefined) return undefined
      old = slot.value
      if (this.guard !== null) this.guardWrite(this.ctx.groupIndex, keyId, entry)
      namespaces.delete(nsId)
      if (namespaces.size === 0) entry.namespaces = undefined
    }
    this.entryCount--
    if (entry.voidValue === undefined && entry.namespaces === undefined) {
      // Read again: preserving may have failed the snapshot, which detaches the guard.
      const guard = this.guard
      if (guard === null || !guard.keepsEmpty(this.ctx.groupIndex, keyId)) group.delete(keyId)
    }
    return old
  }

  /** Drops the entries of the given keys that are (still) empty; a snapshot kept them in place. */
  dropEmpty(groupIndex: number, keyIds: Iterable<KeyIdentity>): void {
    const group = this.groups[groupIndex]
    for (const keyId of keyIds) {
      const entry = group.get(keyId)
      if (entry !== undefined && entry.voidValue === undefined && entry.namespaces === undefined) group.delete(keyId)
    }
  }

  /** The keys of one key group, with everything they hold (empty entries included, see above). */
  group(groupIndex: number): ReadonlyMap<KeyIdentity, KeyEntry<V>> {
    return this.groups[groupIndex]
  }

  get numKeyGroups(): number {
    return this.groups.length
  }

  /** Number of (key, namespace) entries. */
  size(): number {
    return this.entryCount
  }

  clear(): void {
    for (const group of this.groups) group.clear()
    this.entryCount = 0
  }
}

/** Whether a key entry has a value in a namespace. */
export function hasNamespace<V>(entry: KeyEntry<V>, nsId: KeyIdentity): boolean {
  return nsId === 0 ? entry.voidValue !== undefined : entry.namespaces?.has(nsId) === true
}
