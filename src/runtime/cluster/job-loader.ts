import { resolve } from 'node:path'
import type { CheckpointStorage } from '../../checkpoint/checkpoint-storage.ts'
import { FileSystemCheckpointStorage } from '../../checkpoint/filesystem-checkpoint-storage.ts'
import { StreamEnvironment, type CheckpointStorageOption } from '../../api/stream-environment.ts'
import type { JobGraph } from '../../graph/job-graph.ts'
import { loadBundle } from './bundle.ts'

/** A job built from its bundle in this process. */
export interface BuiltJob {
  env: StreamEnvironment
  graph: JobGraph
}

/**
 * Builds a job from a stored bundle the way every process of the cluster does: same arguments, same
 * default parallelism, so the coordinator and the task managers all hold the same graph (transformation
 * ids, uids and channel plans are deterministic).
 */
export async function buildJob(bundle: string, name: string, args: readonly string[], parallelism: number): Promise<BuiltJob> {
  const definition = await loadBundle(bundle)
  const env = StreamEnvironment.create(parallelism > 0 ? { parallelism } : {})
  await definition.build(env, args)
  return { env, graph: env.getJobGraph(name) }
}

/**
 * Checkpoint storage of a job in a cluster. Every process must reach the same checkpoints, so
 * in-memory storage means the cluster's directory; a directory is used as given; a storage of the
 * job's own (say an object store) is created in each process by the job's code.
 */
export function clusterStorage(option: CheckpointStorageOption, clusterDir: string): (jobId: string) => CheckpointStorage {
  if (option === 'memory') return (jobId) => new FileSystemCheckpointStorage(clusterDir, jobId)
  if (typeof option === 'function') return option
  return (jobId) => new FileSystemCheckpointStorage(resolve(option.directory), jobId)
}
