import type { KeyedStateMetaInfo } from '../snapshot.ts'
import type { RawEntry, SnapshotScope, SnapshotSource } from './snapshot-codec.ts'
import { isExpired } from './ttl-policy.ts'

/**
 * A state loaded from snapshots whose descriptor has not been given yet. Its entries stay as raw
 * bytes because only the descriptor brings the serializers to read them; a snapshot taken
 * meanwhile writes them back as they are.
 */
export class RestoredState implements SnapshotSource {
  /** Entries by key-group index (from the start of the backend's range). */
  readonly groups = new Map<number, RawEntry[]>()
  private count = 0

  constructor(readonly meta: KeyedStateMetaInfo) {}

  get name(): string {
    return this.meta.name
  }

  add(groupIndex: number, entries: readonly RawEntry[]): void {
    let list = this.groups.get(groupIndex)
    if (list === undefined) {
      list = []
      this.groups.set(groupIndex, list)
    }
    for (const entry of entries) list.push(entry)
    this.count += entries.length
  }

  size(): number {
    return this.count
  }

  metaInfo(): KeyedStateMetaInfo {
    return this.meta
  }

  collectGroup(groupIndex: number, scope: SnapshotScope): RawEntry[] {
    const entries = this.groups.get(groupIndex)
    if (entries === undefined) return []
    const ttl = this.meta.ttl
    if (ttl === undefined || ttl.cleanupInSnapshot === false) return entries
    const out: RawEntry[] = []
    for (const [keyBytes, namespaceBytes, payload] of entries) {
      const kept = dropExpired(this.meta.kind === 'list' ? 'list' : this.meta.kind === 'map' ? 'map' : 'value', payload, scope.now)
      if (kept !== undefined) out.push([keyBytes, namespaceBytes, kept])
    }
    return out
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
