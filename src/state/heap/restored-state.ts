import type { KeyedStateMetaInfo } from '../snapshot.ts'
import type { RawEntry } from './snapshot-codec.ts'
import { isExpired } from './ttl-policy.ts'

/**
 * A state loaded from snapshots whose descriptor has not been given yet. Its entries stay as raw
 * bytes because only the descriptor brings the serializers to read them; a snapshot taken
 * meanwhile writes them back as they are.
 */
export class RestoredState {
  /**
   * Entries by key-group index (from the start of the backend's range). The arrays are never
   * changed once stored, so a snapshot can hold on to them while restores go on.
   */
  readonly groups = new Map<number, readonly RawEntry[]>()
  private count = 0

  constructor(readonly meta: KeyedStateMetaInfo) {}

  get name(): string {
    return this.meta.name
  }

  add(groupIndex: number, entries: readonly RawEntry[]): void {
    const list = this.groups.get(groupIndex)
    this.groups.set(groupIndex, list === undefined ? entries.slice() : list.concat(entries))
    this.count += entries.length
  }

  /** The entries as they are now: later `add`s replace arrays instead of changing them. */
  freeze(): ReadonlyMap<number, readonly RawEntry[]> {
    return new Map(this.groups)
  }

  size(): number {
    return this.count
  }

  metaInfo(): KeyedStateMetaInfo {
    return this.meta
  }

  /** An entry as a snapshot taken at `now` writes it; undefined when all of it expired. */
  snapshotEntry(entry: RawEntry, now: number): RawEntry | undefined {
    const ttl = this.meta.ttl
    if (ttl === undefined || ttl.cleanupInSnapshot === false) return entry
    const [keyBytes, namespaceBytes, payload] = entry
    const kept = dropExpired(this.meta.kind === 'list' ? 'list' : this.meta.kind === 'map' ? 'map' : 'value', payload, now)
    return kept === undefined ? undefined : [keyBytes, namespaceBytes, kept]
  }
}

/**
 * The payload without its expired parts, undefined when nothing is left. Payloads were checked
 * when the key group was decoded only for their outer shape, so anything odd is kept as it is and
 * reported when the state is bound.
 */
function dropExpired(shape: 'value' | 'list' | 'map', payload: unknown, now: number): unknown {
  if (!Array.isArray(payload)) return payload
  const live = (expiresAt: unknown): boolean => typeof expiresAt !== 'number' || expiresAt === 0 || !isExpired(expiresAt, now)
  switch (shape) {
    case 'value':
      return live(payload[1]) ? payload : undefined
    case 'list': {
      const kept = (payload as unknown[]).filter((element) => !Array.isArray(element) || live(element[1]))
      return kept.length === 0 ? undefined : kept
    }
    case 'map': {
      const kept = (payload as unknown[]).filter((entry) => !Array.isArray(entry) || live(entry[2]))
      return kept.length === 0 ? undefined : kept
    }
  }
}
