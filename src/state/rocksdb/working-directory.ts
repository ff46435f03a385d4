import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Local directories of the RocksDB instances. Each keyed operator subtask gets its own, removed
 * when its backend is disposed; those still there when the process exits (a task that was never
 * disposed) are removed then, since nothing can reopen them: state comes back from checkpoints.
 */

const live = new Set<string>()
let hooked = false

function removeAllAtExit(): void {
  for (const directory of live) {
    try {
      rmSync(directory, { recursive: true, force: true })
    } catch {
      // Exiting: nothing better to do than leave it.
    }
  }
  live.clear()
}

/** Creates a fresh directory under `root` whose name starts with a readable `label`. */
export function createWorkingDirectory(root: string, label: string): string {
  mkdirSync(root, { recursive: true })
  const safe = label.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60)
  const directory = mkdtempSync(join(root, `${safe}-`))
  live.add(directory)
  if (!hooked) {
    hooked = true
    process.once('exit', removeAllAtExit)
  }
  return directory
}

/** Removes a directory made by `createWorkingDirectory`, with everything in it. */
export function removeWorkingDirectory(directory: string): void {
  live.delete(directory)
  rmSync(directory, { recursive: true, force: true })
}
