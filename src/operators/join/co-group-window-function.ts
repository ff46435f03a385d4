import type { CoGroupFunction, JoinFunction } from '../../api/join-functions.ts'
import type { RichFunction } from '../../api/functions.ts'
import type { RuntimeContext } from '../../api/runtime-context.ts'
import type { ProcessWindowContext } from '../../api/window-functions.ts'
import type { Window } from '../../time/windows/window.ts'
import { cloneFunction } from '../abstract-stream-operator.ts'
import type { Collector } from '../output.ts'

/** An element of either input of a window join or co-group, tagged with its input. */
export type TaggedUnion<T1, T2> = { readonly tag: 1; readonly value: T1 } | { readonly tag: 2; readonly value: T2 }

function callOpen(fn: unknown, context: RuntimeContext): void {
  if (typeof fn === 'object' && fn !== null && typeof (fn as RichFunction).open === 'function') (fn as RichFunction).open!(context)
}

function callClose(fn: unknown): void {
  if (typeof fn === 'object' && fn !== null && typeof (fn as RichFunction).close === 'function') (fn as RichFunction).close!()
}

/**
 * The window function of a co-group: splits the window's tagged elements by input and calls the
 * co-group function. `open` takes a copy of the user function, so each subtask has its own.
 */
export class CoGroupWindowFunction<T1, T2, OUT, K, W extends Window> implements RichFunction {
  constructor(private fn: CoGroupFunction<T1, T2, OUT>) {}

  open(context: RuntimeContext): void {
    this.fn = cloneFunction(this.fn)
    callOpen(this.fn, context)
  }

  close(): void {
    callClose(this.fn)
  }

  process(_key: K, _context: ProcessWindowContext<W>, elements: TaggedUnion<T1, T2>[], out: Collector<OUT>): void {
    const first: T1[] = []
    const second: T2[] = []
    for (const e of elements) {
      if (e.tag === 1) first.push(e.value)
      else second.push(e.value)
    }
    const fn = this.fn
    if (typeof fn === 'function') fn(first, second, out)
    else fn.coGroup(first, second, out)
  }
}

/** A co-group function that emits the join of every pair (an inner join): what `join().apply()` runs. */
export class JoinCoGroupFunction<T1, T2, OUT> implements RichFunction {
  constructor(private fn: JoinFunction<T1, T2, OUT>) {}

  open(context: RuntimeContext): void {
    this.fn = cloneFunction(this.fn)
    callOpen(this.fn, context)
  }

  close(): void {
    callClose(this.fn)
  }

  coGroup(first: T1[], second: T2[], out: Collector<OUT>): void {
    const fn = this.fn
    const join = typeof fn === 'function' ? fn : fn.join.bind(fn)
    for (const a of first) for (const b of second) out.collect(join(a, b))
  }
}
