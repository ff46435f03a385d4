import { connect } from 'node:net'
import { WeirError } from '../../errors.ts'
import type { CheckpointStats } from '../checkpointing/checkpoint-stats.ts'
import { bundleJob } from './bundle.ts'
import type { JobInfo, JobMetrics, SubmitParams, TaskManagerInfo, WaitResult } from './protocol.ts'
import { RpcPeer, type Payload } from './rpc.ts'

/** `host:port` into its parts. */
export function parseAddress(address: string, defaultPort = 6123): { host: string; port: number } {
  const match = /^(.*?)(?::(\d+))?$/.exec(address.trim())
  const host = match?.[1] || '127.0.0.1'
  const port = match?.[2] !== undefined ? Number(match[2]) : defaultPort
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new WeirError('INVALID_ADDRESS', `Not a host:port address: '${address}'`)
  return { host, port }
}

/** A connection to a cluster's coordinator, for submitting and managing jobs. */
export class ClusterClient {
  private constructor(private readonly peer: RpcPeer) {}

  /** Connects to the coordinator at `address` (`host:port`). */
  static async connect(address: string): Promise<ClusterClient> {
    const { host, port } = parseAddress(address)
    const socket = connect(port, host)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', (error) => reject(new WeirError('CLUSTER_UNREACHABLE', `Cannot reach the coordinator at ${host}:${port}: ${error.message}`)))
    })
    return new ClusterClient(new RpcPeer(socket))
  }

  /** Bundles a job module and submits it; resolves with the job id. */
  async submitFile(path: string, options: { name: string; args?: readonly string[]; parallelism?: number }): Promise<string> {
    const bundle = await bundleJob(path)
    return this.submit({ name: options.name, bundle, args: [...(options.args ?? [])], parallelism: options.parallelism ?? 0 })
  }

  /** Submits a bundled job; resolves with the job id. */
  async submit(params: SubmitParams): Promise<string> {
    const { jobId } = await this.peer.request<{ jobId: string }>('submit', params as unknown as Payload)
    return jobId
  }

  /** Every job the coordinator knows. */
  list(): Promise<JobInfo[]> {
    return this.peer.request('list', {})
  }

  /** One job (an unambiguous prefix of its id is enough). */
  job(jobId: string): Promise<JobInfo> {
    return this.peer.request('jobInfo', { jobId })
  }

  /** Cancels a job; resolves with its state right after the request. */
  cancel(jobId: string): Promise<JobInfo> {
    return this.peer.request('cancel', { jobId })
  }

  /** Resolves when the job has ended, however it ended. */
  wait(jobId: string): Promise<WaitResult> {
    return this.peer.request('wait', { jobId })
  }

  /** Checkpoint statistics of a job. */
  checkpoints(jobId: string): Promise<CheckpointStats[]> {
    return this.peer.request('checkpoints', { jobId })
  }

  /** Channel and task figures of a job, from every task manager. */
  metrics(jobId: string): Promise<JobMetrics> {
    return this.peer.request('jobMetrics', { jobId })
  }

  /** The registered task managers. */
  taskManagers(): Promise<TaskManagerInfo[]> {
    return this.peer.request('taskManagers', {})
  }

  close(): void {
    this.peer.close()
  }
}
