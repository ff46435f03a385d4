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

  constructor(readonly key: unknown) {}
}

/**
 * One state's values: key group (index from the start of the backend's range), then key identity,
 * then namespace identity (0 is the void namespace). `undefined` is never stored: it means absent.
 * Values are live heap objects; the state kinds mutate lists and maps in place.
 */
export class StateTable<V> {
  private readonly groups: Map<KeyIdentity, KeyEntry<V>>[]
  private entryCount = 0

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

  /** The current key's value in a namespace, to read only. */
  get(nsId: KeyIdentity): V | undefined {
    const entry = this.currentGroup().get(this.ctx.keyId)
    if (entry === undefined) return undefined
    return nsId === 0 ? entry.voidValue : entry.namespaces?.get(nsId)?.value
  }

  /**
   * The current key's value in a namespace, to be mutated in place. The same as `get` today; a
   * copy-on-write snapshot would copy here values that a running snapshot still reads.
   */
  getForUpdate(nsId: KeyIdentity): V | undefined {
    return this.get(nsId)
  }

  put(nsId: KeyIdentity, namespace: unknown, value: V): void {
    this.putIn(this.currentGroup(), this.ctx.keyId, this.ctx.key, nsId, namespace, value)
  }

  /** Puts a value for any key; restore uses it. */
  putAt(groupIndex: number, keyId: KeyIdentity, key: unknown, nsId: KeyIdentity, namespace: unknown, value: V): void {
    this.putIn(this.groups[groupIndex], keyId, key, nsId, namespace, value)
  }

  private putIn(group: Map<KeyIdentity, KeyEntry<V>>, keyId: KeyIdentity, key: unknown, nsId: KeyIdentity, namespace: unknown, value: V): void {
    let entry = group.get(keyId)
    if (entry === undefined) {
      entry = new KeyEntry<V>(key)
      group.set(keyId, entry)
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
      entry.voidValue = undefined
    } else {
      const namespaces = entry.namespaces
      const slot = namespaces?.get(nsId)
      if (namespaces === undefined || slot === undefined) return undefined
      old = slot.value
      namespaces.delete(nsId)
      if (namespaces.size === 0) entry.namespaces = undefined
    }
    this.entryCount--
    if (entry.voidValue === undefined && entry.namespaces === undefined) group.delete(keyId)
    return old
  }

  /** The keys of one key group, with everything they hold. */
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
