import { JobGraphError } from '../errors.ts'
import { CoGroupWindowFunction, JoinCoGroupFunction, type TaggedUnion } from '../operators/join/co-group-window-function.ts'
import type { KeySelector } from '../operators/stream-operator.ts'
import type { Evictor } from '../time/windows/evictors/evictor.ts'
import type { Trigger } from '../time/windows/triggers/trigger.ts'
import type { WindowAssigner } from '../time/windows/window-assigner.ts'
import type { Window } from '../time/windows/window.ts'
import type { DataStream } from './data-stream.ts'
import type { CoGroupFunction, JoinFunction } from './join-functions.ts'

export type { TaggedUnion } from '../operators/join/co-group-window-function.ts'

/**
 * Both inputs of a window co-group or join, keyed and windowed. As Flink does it: the inputs are
 * tagged, unioned, keyed by their own key selectors and put into one window operator, whose window
 * function splits each window's elements by input again.
 */
export class CoGroupWithWindow<T1, T2, K, W extends Window> {
  private windowTrigger: Trigger<TaggedUnion<T1, T2>, W> | undefined
  private windowEvictor: Evictor<TaggedUnion<T1, T2>, W> | undefined
  private lateness = 0

  constructor(
    private readonly input1: DataStream<T1>,
    private readonly input2: DataStream<T2>,
    private readonly key1: KeySelector<T1, K>,
    private readonly key2: KeySelector<T2, K>,
    private readonly assigner: WindowAssigner<TaggedUnion<T1, T2>, W>,
    private readonly operatorName: string,
  ) {}

  /** Replaces the assigner's default trigger. */
  trigger(trigger: Trigger<TaggedUnion<T1, T2>, W>): this {
    this.windowTrigger = trigger
    return this
  }

  /** Removes elements (of both inputs) from firing windows. */
  evictor(evictor: Evictor<TaggedUnion<T1, T2>, W>): this {
    this.windowEvictor = evictor
    return this
  }

  /** Keeps windows for `ms` of event time after their end, for late elements. */
  allowedLateness(ms: number): this {
    this.lateness = ms
    return this
  }

  /** Calls `fn` with both inputs' elements of each key and window. */
  apply<R>(fn: CoGroupFunction<T1, T2, R>): DataStream<R> {
    const { key1, key2 } = this
    const tagged1 = this.input1.map((value): TaggedUnion<T1, T2> => ({ tag: 1, value }), `${this.operatorName}: tag input 1`)
    const tagged2 = this.input2.map((value): TaggedUnion<T1, T2> => ({ tag: 2, value }), `${this.operatorName}: tag input 2`)
    const windowed = tagged1
      .union(tagged2)
      .keyBy((u): K => (u.tag === 1 ? key1(u.value) : key2(u.value)))
      .window(this.assigner)
    if (this.windowTrigger) windowed.trigger(this.windowTrigger)
    if (this.windowEvictor) windowed.evictor(this.windowEvictor)
    windowed.allowedLateness(this.lateness)
    return windowed.process(new CoGroupWindowFunction<T1, T2, R, K, W>(fn)).name(this.operatorName)
  }
}

/** A window join with its windows chosen; `apply` adds it. */
export class JoinWithWindow<T1, T2, K, W extends Window> {
  private readonly coGroup: CoGroupWithWindow<T1, T2, K, W>

  constructor(input1: DataStream<T1>, input2: DataStream<T2>, key1: KeySelector<T1, K>, key2: KeySelector<T2, K>, assigner: WindowAssigner<TaggedUnion<T1, T2>, W>) {
    this.coGroup = new CoGroupWithWindow(input1, input2, key1, key2, assigner, 'Join')
  }

  /** Replaces the assigner's default trigger. */
  trigger(trigger: Trigger<TaggedUnion<T1, T2>, W>): this {
    this.coGroup.trigger(trigger)
    return this
  }

  /** Removes elements (of both inputs) from firing windows. */
  evictor(evictor: Evictor<TaggedUnion<T1, T2>, W>): this {
    this.coGroup.evictor(evictor)
    return this
  }

  /** Keeps windows for `ms` of event time after their end, for late elements. */
  allowedLateness(ms: number): this {
    this.coGroup.allowedLateness(ms)
    return this
  }

  /** Emits `fn(a, b)` for every pair of elements with equal keys in the same window (inner join). */
  apply<R>(fn: JoinFunction<T1, T2, R>): DataStream<R> {
    return this.coGroup.apply<R>(new JoinCoGroupFunction(fn))
  }
}

function checkKeySelector(selector: unknown, method: string): void {
  if (typeof selector !== 'function') throw new JobGraphError(`${method}() needs a function that returns the key of a record`)
}

/** `a.join(b)`: pick the keys with `where` and `equalTo`, then the windows. */
export class JoinedStreams<T1, T2> {
  constructor(
    readonly input1: DataStream<T1>,
    readonly input2: DataStream<T2>,
  ) {}

  /** The key of the first input. */
  where<K>(key1: KeySelector<T1, K>): { equalTo(key2: KeySelector<T2, K>): { window<W extends Window>(assigner: WindowAssigner<TaggedUnion<T1, T2>, W>): JoinWithWindow<T1, T2, K, W> } } {
    checkKeySelector(key1, 'where')
    return {
      equalTo: (key2) => {
        checkKeySelector(key2, 'equalTo')
        return { window: (assigner) => new JoinWithWindow(this.input1, this.input2, key1, key2, assigner) }
      },
    }
  }
}

/** `a.coGroup(b)`: pick the keys with `where` and `equalTo`, then the windows. */
export class CoGroupedStreams<T1, T2> {
  constructor(
    readonly input1: DataStream<T1>,
    readonly input2: DataStream<T2>,
  ) {}

  /** The key of the first input. */
  where<K>(key1: KeySelector<T1, K>): { equalTo(key2: KeySelector<T2, K>): { window<W extends Window>(assigner: WindowAssigner<TaggedUnion<T1, T2>, W>): CoGroupWithWindow<T1, T2, K, W> } } {
    checkKeySelector(key1, 'where')
    return {
      equalTo: (key2) => {
        checkKeySelector(key2, 'equalTo')
        return { window: (assigner) => new CoGroupWithWindow(this.input1, this.input2, key1, key2, assigner, 'CoGroup') }
      },
    }
  }
}
