import {
  KeyedProcessFunction,
  MapStateDescriptor,
  Types,
  WatermarkStrategy,
  numberSource,
  type CheckpointedFunction,
  type Collector,
  type KeyedProcessContext,
  type MapState,
  type OnTimerContext,
  type RuntimeContext,
  type Sink,
  type StreamEnvironment,
} from '../../../src/index.ts'
import { ExactlyOnceFileSink, type FileCommittable } from '../../../src/connectors/sinks/exactly-once-file-sink.ts'
import type { FailureInjector } from './failure-injector.ts'

/** An event of the fault-injection job. */
export interface Event {
  id: number
  key: number
  ts: number
}

const WINDOW_MS = 1000

/** Counts events per key in tumbling event-time windows, in MapState, fired by timers. */
class WindowCount extends KeyedProcessFunction<number, Event, string> {
  private counts!: MapState<number, number>

  override open(ctx: RuntimeContext): void {
    this.counts = ctx.getMapState(new MapStateDescriptor<number, number>('counts', Types.number, Types.number))
  }

  processElement(event: Event, ctx: KeyedProcessContext<number>): void {
    const start = Math.floor(event.ts / WINDOW_MS) * WINDOW_MS
    this.counts.put(start, (this.counts.get(start) ?? 0) + 1)
    ctx.timerService().registerEventTimeTimer(start + WINDOW_MS - 1)
  }

  override onTimer(timestamp: number, ctx: OnTimerContext<number>, out: Collector<string>): void {
    const start = timestamp - WINDOW_MS + 1
    out.collect(`${ctx.getCurrentKey()},${start},${this.counts.get(start) ?? 0}`)
    this.counts.remove(start)
  }
}

/** Passes events through; fails where the injector says (on records and during snapshots). */
class InjectingMap implements CheckpointedFunction {
  constructor(private readonly injector: FailureInjector | undefined) {}
  map(event: Event): Event {
    this.injector?.check('record', `event ${event.id}`)
    return event
  }
  initializeState(): void {}
  snapshotState(ctx: { checkpointId: number }): void {
    this.injector?.check('snapshot', `checkpoint ${ctx.checkpointId}`)
  }
}

/** The file sink, failing where the injector says between pre-commit and commit. */
function injectingSink(dir: string, injector: FailureInjector | undefined): Sink<string, FileCommittable> {
  const inner = new ExactlyOnceFileSink<string>(dir)
  return {
    createWriter: (ctx) => inner.createWriter(ctx),
    createCommitter: () => {
      const committer = inner.createCommitter()
      return {
        commit: async (committables: FileCommittable[]) => {
          injector?.check('commit', `${committables.length} files`)
          await committer.commit(committables)
        },
      }
    },
    abortLeftovers: (ctx) => inner.abortLeftovers?.(ctx),
  }
}

/** generator -> failure point -> keyBy -> windowed count (MapState + timers) -> exactly-once file sink. */
export function buildWindowedCountJob(env: StreamEnvironment, options: { records: number; out: string; injector?: FailureInjector }): void {
  env
    .fromSource(
      numberSource(1, options.records, (n): Event => ({ id: n, key: n % 17, ts: n * 7 }), { splits: 6, batch: 64 }),
      WatermarkStrategy.forMonotonousTimestamps<Event>().withTimestampAssigner((e) => e.ts),
      'events',
    )
    .uid('events')
    .map(new InjectingMap(options.injector), 'inject')
    .uid('inject')
    .keyBy((e) => e.key)
    .process(new WindowCount(), 'window-count')
    .uid('window-count')
    .sinkTo(injectingSink(options.out, options.injector), 'sink')
    .uid('sink')
}
