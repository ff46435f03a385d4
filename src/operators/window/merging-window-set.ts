import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { WeirError } from '../../errors.ts'
import type { ListState } from '../../state/state.ts'
import type { MergingWindowAssigner } from '../../time/windows/window-assigner.ts'
import type { Window } from '../../time/windows/window.ts'

/**
 * Called when windows merge: `mergeResult` replaces `mergedWindows`; the contents of
 * `mergedStateWindows` must be folded into `stateWindowResult`.
 */
export type MergeFunction<W> = (mergeResult: W, mergedWindows: W[], stateWindowResult: W, mergedStateWindows: W[]) => void

/**
 * The in-flight windows of one key of a merging assigner, each with the window its state lives in.
 * When windows merge, the contents stay in one of the merged windows' namespaces (the state window)
 * instead of being moved, so a merge only folds the other windows' state into it. Kept in keyed
 * state, so it is part of snapshots and moves with its key on rescale.
 */
export class MergingWindowSet<W extends Window> {
  /** `window.key()` -> [window, state window]. */
  private readonly mapping = new Map<string, [W, W]>()
  private changed = false

  constructor(
    private readonly assigner: MergingWindowAssigner<unknown, W>,
    private readonly state: ListState<[W, W]>,
  ) {
    for (const [window, stateWindow] of state.get()) this.mapping.set(window.key(), [window, stateWindow])
  }

  /** The window whose namespace holds the state of `window`. */
  getStateWindow(window: W): W | undefined {
    return this.mapping.get(window.key())?.[1]
  }

  /** Forgets a window that was purged or is late. */
  retireWindow(window: W): void {
    if (!this.mapping.delete(window.key())) throw new WeirError('INTERNAL', `Window ${String(window)} is not in the set of in-flight windows`)
    this.changed = true
  }

  /** Writes the set back to keyed state if it changed. */
  persist(): void {
    if (!this.changed) return
    this.state.update([...this.mapping.values()])
    this.changed = false
  }

  /** The windows in flight, for tests. */
  windows(): W[] {
    return [...this.mapping.values()].map(([window]) => window)
  }

  /**
   * Adds a new window, merging it with the windows it overlaps (and those with each other). Returns
   * the window the new one ended up in; `merge` is called for every merge before this returns.
   */
  addWindow(newWindow: W, merge: MergeFunction<W>): W {
    const windows = [...this.mapping.values()].map(([window]) => window)
    windows.push(newWindow)
    const results: [W, W[]][] = []
    this.assigner.mergeWindows(windows, (toBeMerged, mergeResult) => results.push([mergeResult, toBeMerged]))

    let resultWindow = newWindow
    let mergedNewWindow = false
    for (const [mergeResult, mergedWindows] of results) {
      const newIndex = mergedWindows.findIndex((w) => w.equals(newWindow))
      if (newIndex >= 0) {
        // The new window never had state: what remains are windows already in the set.
        mergedWindows.splice(newIndex, 1)
        mergedNewWindow = true
        resultWindow = mergeResult
      }
      const stateWindowResult = this.mapping.get(mergedWindows[0].key())![1]
      const mergedStateWindows: W[] = []
      for (const window of mergedWindows) {
        const entry = this.mapping.get(window.key())
        if (entry === undefined) continue
        this.mapping.delete(window.key())
        if (!entry[1].equals(stateWindowResult)) mergedStateWindows.push(entry[1])
      }
      this.mapping.set(mergeResult.key(), [mergeResult, stateWindowResult])
      this.changed = true
      // A new window inside one existing window changes nothing: that window is its own result.
      if (!(mergedWindows.length === 1 && mergedWindows[0].equals(mergeResult))) merge(mergeResult, mergedWindows, stateWindowResult, mergedStateWindows)
    }
    if (results.length === 0 || (resultWindow.equals(newWindow) && !mergedNewWindow)) {
      this.mapping.set(resultWindow.key(), [resultWindow, resultWindow])
      this.changed = true
    }
    return resultWindow
  }
}

/** Writes a [window, state window] pair with the window serializer: two length-prefixed parts. */
export function windowPairSerializer<W>(windowSerializer: TypeSerializer<W>): TypeSerializer<[W, W]> {
  return {
    id: `window-pair(${windowSerializer.id})`,
    version: windowSerializer.version,
    serialize([window, stateWindow]) {
      const a = windowSerializer.serialize(window)
      const b = windowSerializer.serialize(stateWindow)
      const out = new Uint8Array(4 + a.byteLength + b.byteLength)
      new DataView(out.buffer).setUint32(0, a.byteLength)
      out.set(a, 4)
      out.set(b, 4 + a.byteLength)
      return out
    },
    deserialize(bytes) {
      const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
      return [windowSerializer.deserialize(bytes.subarray(4, 4 + length)), windowSerializer.deserialize(bytes.subarray(4 + length))]
    },
  }
}
