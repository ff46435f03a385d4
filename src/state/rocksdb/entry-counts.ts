import type { RowShape } from './row-format.ts'
import { keyGroupStart, parseRowKey, RowKeyParts } from './row-key.ts'
import type { RocksDBInstance } from './rocksdb-instance.ts'

/**
 * Counts (key, namespace) entries per state and key group, so `numEntries` re-reads only the key
 * groups written since it last looked instead of every row. RocksDB cannot count keys exactly, and
 * knowing whether a write adds an entry would cost a read before every blind write; a count that
 * is invalidated by writes costs a map deletion per written row instead.
 */
export class EntryCounts {
  /** Entries per (state id << 16 | key group), for the key groups counted since their last write. */
  private readonly counts = new Map<number, number>()
  private readonly parts = new RowKeyParts()

  constructor(
    private readonly db: RocksDBInstance,
    private readonly firstKeyGroup: number,
    private readonly lastKeyGroup: number,
  ) {}

  /** Forgets the count of the key group a written row key is in. */
  written(rowKey: Buffer): void {
    this.counts.delete(((rowKey[0] << 24) | (rowKey[1] << 16) | (rowKey[2] << 8) | rowKey[3]) >>> 0)
  }

  /** Forgets every count (a range deletion or a restore). */
  clear(): void {
    this.counts.clear()
  }

  /** The entries of a state, counting the key groups not known. */
  count(stateId: number, shape: RowShape): number {
    const base = stateId * 0x10000
    const unknown: number[] = []
    for (let keyGroup = this.firstKeyGroup; keyGroup <= this.lastKeyGroup; keyGroup++) if (!this.counts.has(base + keyGroup)) unknown.push(keyGroup)
    // Opening a cursor costs about as much as reading tens of rows: past a few key groups, one
    // pass over the whole state is cheaper than a cursor per key group.
    if (unknown.length > 8) this.countRange(stateId, this.firstKeyGroup, this.lastKeyGroup, shape, unknown)
    else for (const keyGroup of unknown) this.countRange(stateId, keyGroup, keyGroup, shape, unknown)
    let total = 0
    for (let keyGroup = this.firstKeyGroup; keyGroup <= this.lastKeyGroup; keyGroup++) total += this.counts.get(base + keyGroup) ?? 0
    return total
  }

  /** Counts the entries of key groups `first` to `last` and records those listed in `wanted`. */
  private countRange(stateId: number, first: number, last: number, shape: RowShape, wanted: readonly number[]): void {
    const found = new Map<number, number>()
    const cursor = this.db.cursor(keyGroupStart(stateId, first), keyGroupStart(stateId, last + 1), { values: false, batchSize: 1024, fillCache: false })
    let previous: Buffer | undefined
    while (cursor.next()) {
      const row = cursor.key
      const keyGroup = (row[2] << 8) | row[3]
      if (shape === 'map') {
        // Map state has a row per user key; an entry is a (key, namespace).
        const prefix = parseRowKey(row, this.parts).keyAndNamespace(row)
        if (previous !== undefined && previous.equals(prefix)) continue
        previous = prefix
      }
      found.set(keyGroup, (found.get(keyGroup) ?? 0) + 1)
    }
    const base = stateId * 0x10000
    for (const keyGroup of wanted) if (keyGroup >= first && keyGroup <= last) this.counts.set(base + keyGroup, found.get(keyGroup) ?? 0)
  }
}
