import {
  TumblingEventTimeWindows,
  WatermarkStrategy,
  numberSource,
  type AggregateFunction,
  type CheckpointedFunction,
  type Collector,
  type ProcessWindowContext,
  type Sink,
  type StreamEnvironment,
  type TimeWindow,
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

/** Counts the events of a window, incrementally (one accumulator per key and window). */
const countEvents: AggregateFunction<Event, number, number> = {
  createAccumulator: () => 0,
  add: (_event, count) => count + 1,
  getResult: (count) => count,
  merge: (a, b) => a + b,
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

/** generator -> failure point -> keyBy -> tumbling event-time window count -> exactly-once file sink. */
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
    .window(TumblingEventTimeWindows.of(WINDOW_MS))
    .aggregate(countEvents, (key: number, ctx: ProcessWindowContext<TimeWindow>, counts: number[], out: Collector<string>) => {
      out.collect(`${key},${ctx.window.start},${counts[0]}`)
    })
    .name('window-count')
    .uid('window-count')
    .sinkTo(injectingSink(options.out, options.injector), 'sink')
    .uid('sink')
}
