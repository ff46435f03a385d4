import { readFileSync } from 'node:fs'
import { LocalCluster, isAlive, type LocalClusterOptions } from '../../../src/runtime/cluster/local-cluster.ts'
import { ClusterClient } from '../../../src/runtime/cluster/client.ts'

/** A local cluster and a client of it, for tests. */
export interface TestCluster {
  cluster: LocalCluster
  client: ClusterClient
}

/** Starts a cluster of real processes; `stopTestCluster` in `after` ends every one of them. */
export async function startTestCluster(options: LocalClusterOptions): Promise<TestCluster> {
  const cluster = await LocalCluster.start({ logLevel: 'info', ...options })
  try {
    return { cluster, client: await ClusterClient.connect(cluster.address) }
  } catch (error) {
    cluster.kill()
    throw error
  }
}

/** Ends a test cluster's processes, whatever state they are in (stopped ones included). */
export async function stopTestCluster(test: TestCluster | undefined): Promise<void> {
  if (!test) return
  test.client.close()
  // A stopped (SIGSTOP) process ignores SIGTERM until continued: continue everything first.
  for (const pid of test.cluster.pids) test.cluster.signal(pid, 'SIGCONT')
  await test.cluster.stop(2000)
}

/** The task managers of a cluster that are registered and alive. */
export function liveTaskManagers(cluster: LocalCluster): { pid: number; id?: string }[] {
  return cluster.taskManagers.filter((t) => t.id !== undefined && isAlive(t.pid))
}

/** Lines of a process log. */
export function logLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0)
  } catch {
    return []
  }
}

/** The messages of a pino log file. */
export function logMessages(file: string): string[] {
  return logLines(file).flatMap((line) => {
    try {
      return [(JSON.parse(line) as { msg?: string }).msg ?? '']
    } catch {
      return [line]
    }
  })
}

/** Waits until `condition` holds, polling. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
