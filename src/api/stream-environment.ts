import { collectionSource, numberSource } from '../connectors/sources/sequence-source.ts'
import { JobGraphError } from '../errors.ts'
import { buildJobGraph, type JobGraph } from '../graph/job-graph.ts'
import { buildStreamGraph, type StreamGraph } from '../graph/stream-graph.ts'
import type { OperatorSettings, OperatorTransformation, SourceTransformation } from '../graph/transformation.ts'
import { startLocalJob, type JobExecutionResult, type LocalJob } from '../runtime/local-job.ts'
import { noRestart, type RestartStrategy } from '../runtime/restart-strategy.ts'
import { checkpointSettings, type CheckpointSettings } from '../runtime/checkpointing/checkpoint-config.ts'
import type { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts'
import { MemoryCheckpointStorage } from '../checkpoint/memory-checkpoint-storage.ts'
import { FileSystemCheckpointStorage, openSnapshot, readSnapshotSubtaskState } from '../checkpoint/filesystem-checkpoint-storage.ts'
import { DEFAULT_MAX_PARALLELISM } from '../state/key-groups.ts'
import { heapStateBackend } from '../state/heap-state-backend.ts'
import type { StateBackend } from '../state/state-backend.ts'
import { WatermarkStrategy } from '../time/watermark-strategy.ts'
import type { Source, SourceSplit } from './connector/source.ts'
import { DataStream } from './data-stream.ts'

/** Checkpointing mode: exactly-once aligns barriers, at-least-once does not. */
export type CheckpointingMode = 'exactly-once' | 'at-least-once'

/** Where checkpoints go: in memory (tests), a directory, or a storage of your own per job id. */
export type CheckpointStorageOption = 'memory' | { directory: string } | ((jobId: string) => CheckpointStorage)

/** Checkpoint settings of a job. */
export interface CheckpointConfig extends CheckpointSettings {
  storage: CheckpointStorageOption
}

/** Options of one run of a job. */
export interface ExecuteOptions {
  /** A retained checkpoint or savepoint directory to start from. */
  restoreFrom?: string
  /** Start even if the snapshot has state for operators this job does not have (it is dropped). */
  allowNonRestoredState?: boolean
  /** Where engine messages (restarts, failed checkpoints) go; stderr by default. */
  log?: (message: string) => void
}

/** Settings of a job's environment. */
export interface EnvironmentConfig {
  /** Default parallelism of operators (default 1 in the embedded runner). */
  parallelism: number
  /** Number of key groups (default 128). */
  maxParallelism: number
  /** Records per batch between tasks. */
  batchSize: number
  /** Batches each channel holds before its producer waits (backpressure). */
  channelCapacity: number
  stateBackend: StateBackend
  checkpointing: CheckpointConfig | undefined
  restartStrategy: RestartStrategy
}

/**
 * Where a job is built: sources, settings, and `execute`. Every stream method records a
 * transformation here; `execute` turns them into a graph and runs it.
 */
export class StreamEnvironment {
  readonly config: EnvironmentConfig
  private readonly operators: OperatorTransformation[] = []
  private lastId = 0

  private constructor(config: Partial<EnvironmentConfig>) {
    this.config = {
      parallelism: 1,
      maxParallelism: DEFAULT_MAX_PARALLELISM,
      batchSize: 512,
      channelCapacity: 4,
      stateBackend: heapStateBackend(),
      checkpointing: undefined,
      restartStrategy: noRestart(),
      ...config,
    }
  }

  /** A new environment for the embedded (in-process) runner. */
  static create(config: Partial<EnvironmentConfig> = {}): StreamEnvironment {
    return new StreamEnvironment(config)
  }

  setParallelism(parallelism: number): this {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new JobGraphError(`Parallelism must be a positive integer, got ${parallelism}`)
    this.config.parallelism = parallelism
    return this
  }

  getParallelism(): number {
    return this.config.parallelism
  }

  setMaxParallelism(maxParallelism: number): this {
    this.config.maxParallelism = maxParallelism
    return this
  }

  setStateBackend(backend: StateBackend): this {
    this.config.stateBackend = backend
    return this
  }

  /** Takes a checkpoint every `intervalMs` (exactly-once, in memory, unless the options say otherwise). */
  enableCheckpointing(intervalMs: number, options: Partial<CheckpointConfig> = {}): this {
    if (!(intervalMs > 0)) throw new JobGraphError(`The checkpoint interval must be positive, got ${intervalMs}`)
    const { storage = 'memory', ...settings } = options
    this.config.checkpointing = { ...checkpointSettings(intervalMs, settings), storage }
    return this
  }

  /** What happens when the job fails: restart (from the latest checkpoint) or give up. */
  setRestartStrategy(strategy: RestartStrategy): this {
    this.config.restartStrategy = strategy
    return this
  }

  /** @internal Ids in creation order: the plan and generated uids depend on it being deterministic. */
  nextTransformationId(): number {
    return ++this.lastId
  }

  /** @internal */
  defaultSettings(name: string): OperatorSettings {
    return { name, uid: undefined, parallelism: undefined, maxParallelism: undefined, chainable: true }
  }

  /** @internal */
  addOperator(t: OperatorTransformation): void {
    this.operators.push(t)
  }

  /** Reads a source; the watermark strategy says how records get event time. */
  fromSource<T, S extends SourceSplit>(source: Source<T, S, unknown>, watermarkStrategy: WatermarkStrategy<T>, name: string): DataStream<T> {
    const t: SourceTransformation = {
      kind: 'source',
      id: this.nextTransformationId(),
      settings: this.defaultSettings(name),
      source: { source: source as Source<unknown, SourceSplit, unknown>, watermarkStrategy: watermarkStrategy as WatermarkStrategy<unknown> },
    }
    this.addOperator(t)
    return new DataStream<T>(this, t)
  }

  /** A bounded stream of the given items, in order (one reader). */
  fromCollection<T>(items: readonly T[], name = 'Collection'): DataStream<T> {
    return this.fromSource(collectionSource(items), WatermarkStrategy.noWatermarks(), name)
  }

  /** A bounded stream of the integers from `from` to `to`, inclusive, read in parallel splits. */
  fromSequence(from: number, to: number, name = 'Sequence'): DataStream<number> {
    return this.fromSource(numberSource(from, to, (n) => n), WatermarkStrategy.noWatermarks(), name)
  }

  /** The operators and edges, before chaining. */
  getStreamGraph(jobName = 'job'): StreamGraph {
    if (this.operators.length === 0) throw new JobGraphError('The job has no operators: add a source and a sink before execute()')
    return buildStreamGraph(jobName, this.operators, { parallelism: this.config.parallelism, maxParallelism: this.config.maxParallelism })
  }

  /** The tasks the job runs as, after chaining. */
  getJobGraph(jobName = 'job'): JobGraph {
    return buildJobGraph(this.getStreamGraph(jobName))
  }

  /** Starts the job in this process and returns at once. */
  executeAsync(jobName = 'job', options: ExecuteOptions = {}): LocalJob {
    const checkpointing = this.config.checkpointing
    const log = options.log ?? ((m: string) => process.stderr.write(`weir: ${m}\n`))
    const restorePath = options.restoreFrom
    return startLocalJob(this.getJobGraph(jobName), {
      stateBackend: this.config.stateBackend,
      batchSize: this.config.batchSize,
      channelCapacity: this.config.channelCapacity,
      checkpointing: checkpointing && { settings: checkpointing, storage: storageFactory(checkpointing.storage) },
      restartStrategy: this.config.restartStrategy,
      restoreFrom: restorePath === undefined ? undefined : async () => ({ handle: await openSnapshot(restorePath), read: (h, f) => readSnapshotSubtaskState(h, f) }),
      allowNonRestoredState: options.allowNonRestoredState ?? false,
      log,
    })
  }

  /** Runs the job in this process until it ends (bounded sources) or fails. */
  execute(jobName = 'job', options: ExecuteOptions = {}): Promise<JobExecutionResult> {
    return this.executeAsync(jobName, options).result
  }
}

function storageFactory(option: CheckpointStorageOption): (jobId: string) => CheckpointStorage {
  if (option === 'memory') return () => new MemoryCheckpointStorage()
  if (typeof option === 'function') return option
  return (jobId) => new FileSystemCheckpointStorage(option.directory, jobId)
}
