import { TumblingEventTimeWindows, type CheckpointedFunction, type Committer, type DataStream, type Sink } from '../../../src/index.ts'
import type { FailureInjector } from '../fault/failure-injector.ts'

/** An input event of the end-to-end jobs. */
export interface Event {
  id: number
  key: string
  ts: number
  amount: number
}

/** A window's aggregate: what the jobs write out. */
export interface WindowTotal {
  key: string
  windowStart: number
  count: number
  total: number
}

/** Size of the tumbling event-time windows. */
export const WINDOW_MS = 1000
const BASE_TS = 1_700_000_000_000

/** Deterministic events: 7 keys, 3 ms apart, so a window holds about 330 events. */
export function makeEvents(n: number): Event[] {
  return Array.from({ length: n }, (_, i) => ({ id: i + 1, key: `k${(i * 31) % 7}`, ts: BASE_TS + i * 3, amount: (i % 10) + 1 }))
}

/** The aggregation computed directly: what the table or stream must hold at the end. */
export function expectedTotals(events: readonly Event[]): string[] {
  const totals = new Map<string, WindowTotal>()
  for (const e of events) {
    const windowStart = Math.floor(e.ts / WINDOW_MS) * WINDOW_MS
    const id = `${e.key}@${windowStart}`
    const t = totals.get(id) ?? { key: e.key, windowStart, count: 0, total: 0 }
    t.count++
    t.total += e.amount
    totals.set(id, t)
  }
  return [...totals.values()].map(formatTotal).sort()
}

/** A total as a line, for comparing multisets. */
export function formatTotal(t: WindowTotal): string {
  return `${t.key},${t.windowStart},${t.count},${t.total}`
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

/** A sink whose committer fails where the injector says: after pre-commit, before commit. */
export function injectingSink<T, C>(inner: Sink<T, C>, injector: FailureInjector | undefined): Sink<T, C> {
  return {
    createWriter: (ctx) => inner.createWriter(ctx),
    createCommitter: () => {
      const committer = inner.createCommitter!()
      const wrapped: Committer<C> = {
        commit: async (committables: C[]) => {
          injector?.check('commit', `${committables.length} committables`)
          await committer.commit(committables)
        },
        close: () => committer.close?.(),
      }
      return wrapped
    },
    abortLeftovers: inner.abortLeftovers ? (ctx) => inner.abortLeftovers!(ctx) : undefined,
  }
}

/** events -> failure point -> keyBy(key) -> tumbling event-time windows -> (count, total) per key and window. */
export function windowTotals(events: DataStream<Event>, injector: FailureInjector | undefined): DataStream<WindowTotal> {
  return events
    .map(new InjectingMap(injector), 'inject')
    .uid('inject')
    .keyBy((e) => e.key)
    .window(TumblingEventTimeWindows.of(WINDOW_MS))
    .aggregate<{ count: number; total: number }, { count: number; total: number }, WindowTotal>(
      {
        createAccumulator: () => ({ count: 0, total: 0 }),
        add: (e: Event, acc: { count: number; total: number }) => ({ count: acc.count + 1, total: acc.total + e.amount }),
        getResult: (acc: { count: number; total: number }) => acc,
        merge: (a: { count: number; total: number }, b: { count: number; total: number }) => ({ count: a.count + b.count, total: a.total + b.total }),
      },
      (key, ctx, results, out) => {
        for (const r of results) out.collect({ key, windowStart: ctx.window.start, count: r.count, total: r.total })
      },
    )
    .uid('window-totals')
}

/** What differs between two multisets of lines: missing, unexpected and doubled lines (a few of each). */
export function describeDifference(actual: readonly string[], expected: readonly string[]): string {
  const count = (lines: readonly string[]): Map<string, number> => {
    const m = new Map<string, number>()
    for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1)
    return m
  }
  const a = count(actual)
  const e = count(expected)
  const missing = [...e.keys()].filter((l) => !a.has(l))
  const unexpected = [...a.keys()].filter((l) => !e.has(l))
  const doubled = [...a].filter(([l, n]) => e.has(l) && n > e.get(l)!).map(([l, n]) => `${l} x${n}`)
  return `${actual.length} lines, expected ${expected.length}; missing [${missing.slice(0, 5).join(' ')}]; unexpected [${unexpected.slice(0, 5).join(' ')}]; doubled [${doubled.slice(0, 5).join(' ')}]`
}
