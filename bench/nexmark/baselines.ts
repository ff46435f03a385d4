/**
 * The Nexmark queries as hand-written single-threaded loops over the same events, with no engine:
 * plain Maps instead of keyed state, the loop's own event-time clock instead of watermarks and
 * timers. Each produces the same rows as its Weir job (docs/benchmarks.md says how they compare).
 */
import type { Auction, Bid, NexmarkEvent, Person } from './model.ts'
import {
  bigintAverage,
  CLOSED_AUCTION_MEMORY_MS,
  EUROS_PER_DOLLAR,
  Q3_CATEGORY,
  Q3_STATES,
  Q5_SLIDE_MS,
  Q6_LAST_AUCTIONS,
  WINDOW_MS,
  windowStart,
  type AuctionPrice,
  type BidderCount,
  type BidRow,
  type CategoryPrice,
  type ClosedAuction,
  type HighestBid,
  type HotItem,
  type LocalSeller,
  type NewSeller,
  type QueryName,
  type SellerPrice,
} from './queries.ts'

/** A query as a loop body: fed every event in stream order, then told the stream ended. */
export interface Baseline {
  process(event: NexmarkEvent): void
  finish(): void
}

/** What a baseline knows of its input. */
export interface BaselineOptions {
  /** How far an event may be older than one before it (0 for an in-order stream). */
  maxOutOfOrdernessMs: number
}

/** Creates a baseline that hands its result rows to `emit`. */
export type BaselineFactory<Out> = (emit: (row: Out) => void, options: BaselineOptions) => Baseline

/**
 * The loop's event-time clock: the newest timestamp seen minus the out-of-orderness. No event
 * to come is at or before `watermark`, so whatever ends there is final.
 */
class Clock {
  private maxTimestamp = -Infinity
  watermark = -Infinity

  constructor(private readonly bound: number) {}

  /** Advances with an event's time; true when the watermark moved. */
  advance(timestamp: number): boolean {
    if (timestamp <= this.maxTimestamp) return false
    this.maxTimestamp = timestamp
    this.watermark = timestamp - this.bound - 1
    return true
  }
}

const q0: BaselineFactory<BidRow> = (emit) => ({
  process(e) {
    if (e.kind === 'bid') emit({ auction: e.auction, bidder: e.bidder, price: e.price, dateTime: e.dateTime, extra: e.extra })
  },
  finish() {},
})

const q1: BaselineFactory<BidRow> = (emit) => ({
  process(e) {
    if (e.kind === 'bid') emit({ auction: e.auction, bidder: e.bidder, price: EUROS_PER_DOLLAR * e.price, dateTime: e.dateTime, extra: e.extra })
  },
  finish() {},
})

const q2: BaselineFactory<AuctionPrice> = (emit) => ({
  process(e) {
    if (e.kind === 'bid' && e.auction % 123 === 0) emit({ auction: e.auction, price: e.price })
  },
  finish() {},
})

const q3: BaselineFactory<LocalSeller> = (emit) => {
  const sellers = new Map<number, { name: string; city: string; state: string }>()
  const waiting = new Map<number, number[]>()
  return {
    process(e) {
      if (e.kind === 'person') {
        if (!Q3_STATES.has(e.state)) return
        const p = { name: e.name, city: e.city, state: e.state }
        sellers.set(e.id, p)
        const ids = waiting.get(e.id)
        if (ids) {
          for (const id of ids) emit({ name: p.name, city: p.city, state: p.state, id })
          waiting.delete(e.id)
        }
      } else if (e.kind === 'auction') {
        if (e.category !== Q3_CATEGORY) return
        const p = sellers.get(e.seller)
        if (p) emit({ name: p.name, city: p.city, state: p.state, id: e.id })
        else {
          const ids = waiting.get(e.seller)
          if (ids) ids.push(e.id)
          else waiting.set(e.seller, [e.id])
        }
      }
    },
    finish() {},
  }
}

interface OpenAuction {
  id: number
  dateTime: number
  expires: number
  seller: number
  category: number
  best: number
}

/** A binary min-heap of open auctions by (expires, id): the order they close in. */
class ClosingOrder {
  private readonly items: OpenAuction[] = []

  get size(): number {
    return this.items.length
  }

  peek(): OpenAuction | undefined {
    return this.items[0]
  }

  private static less(a: OpenAuction, b: OpenAuction): boolean {
    return a.expires < b.expires || (a.expires === b.expires && a.id < b.id)
  }

  push(a: OpenAuction): void {
    const items = this.items
    let i = items.push(a) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!ClosingOrder.less(items[i], items[parent])) break
      ;[items[i], items[parent]] = [items[parent], items[i]]
      i = parent
    }
  }

  pop(): OpenAuction | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < items.length && ClosingOrder.less(items[l], items[m])) m = l
        if (r < items.length && ClosingOrder.less(items[r], items[m])) m = r
        if (m === i) break
        ;[items[i], items[m]] = [items[m], items[i]]
        i = m
      }
    }
    return top
  }
}

/**
 * The winning bid of each auction among the bids in [dateTime, expires], emitted in (expires, id)
 * order once no such bid can come: the loop form of the Weir job's `WinningBids`.
 */
function winningBids(onClosed: (c: ClosedAuction) => void, options: BaselineOptions): Baseline {
  const clock = new Clock(options.maxOutOfOrdernessMs)
  const open = new Map<number, OpenAuction>()
  const closing = new ClosingOrder()
  /** Closed auctions still remembered, and when to forget them (in closing order, so in time order). */
  const closed = new Set<number>()
  const forget: [number, number][] = []
  let forgetHead = 0
  /** Bids before their auction: [price, time] per auction, and [time, auction] in arrival order for cleanup. */
  const early = new Map<number, [number, number][]>()
  const earlyQueue: [number, number][] = []
  let earlyHead = 0

  const close = (a: OpenAuction): void => {
    open.delete(a.id)
    if (a.best >= 0) onClosed({ auction: a.id, seller: a.seller, category: a.category, price: a.best, expires: a.expires })
    closed.add(a.id)
    forget.push([a.expires + CLOSED_AUCTION_MEMORY_MS, a.id])
  }

  const advance = (watermark: number): void => {
    for (let top = closing.peek(); top !== undefined && top.expires <= watermark; top = closing.peek()) close(closing.pop()!)
    while (earlyHead < earlyQueue.length && earlyQueue[earlyHead][0] <= watermark) {
      const id = earlyQueue[earlyHead++][1]
      const bids = early.get(id)
      if (!bids) continue
      const keep = bids.filter(([, t]) => t > watermark)
      if (keep.length === 0) early.delete(id)
      else early.set(id, keep)
    }
    if (earlyHead > 4096 && earlyHead * 2 > earlyQueue.length) {
      earlyQueue.splice(0, earlyHead)
      earlyHead = 0
    }
    while (forgetHead < forget.length && forget[forgetHead][0] <= watermark) closed.delete(forget[forgetHead++][1])
    if (forgetHead > 4096 && forgetHead * 2 > forget.length) {
      forget.splice(0, forgetHead)
      forgetHead = 0
    }
  }

  const onAuction = (e: Auction): void => {
    const a: OpenAuction = { id: e.id, dateTime: e.dateTime, expires: e.expires, seller: e.seller, category: e.category, best: -1 }
    const bids = early.get(e.id)
    if (bids) {
      for (const [price, time] of bids) if (time >= a.dateTime && time <= a.expires && price > a.best) a.best = price
      early.delete(e.id)
    }
    open.set(a.id, a)
    closing.push(a)
  }

  const onBid = (b: Bid): void => {
    const a = open.get(b.auction)
    if (a === undefined) {
      if (closed.has(b.auction)) return
      const bids = early.get(b.auction)
      if (bids) bids.push([b.price, b.dateTime])
      else early.set(b.auction, [[b.price, b.dateTime]])
      earlyQueue.push([b.dateTime, b.auction])
      return
    }
    if (b.dateTime >= a.dateTime && b.dateTime <= a.expires && b.price > a.best) a.best = b.price
  }

  return {
    process(e) {
      if (e.kind === 'bid') onBid(e)
      else if (e.kind === 'auction') onAuction(e)
      if (clock.advance(e.dateTime)) advance(clock.watermark)
    },
    finish() {
      while (closing.size > 0) close(closing.pop()!)
    },
  }
}

const q4: BaselineFactory<CategoryPrice> = (emit, options) => {
  const totals = new Map<number, [number, number]>()
  return winningBids((c) => {
    let t = totals.get(c.category)
    if (!t) totals.set(c.category, (t = [0, 0]))
    t[0] += c.price
    t[1]++
    emit({ category: c.category, avgPrice: bigintAverage(t[0], t[1]) })
  }, options)
}

const q6: BaselineFactory<SellerPrice> = (emit, options) => {
  const last = new Map<number, number[]>()
  return winningBids((c) => {
    let prices = last.get(c.seller)
    if (!prices) last.set(c.seller, (prices = []))
    prices.push(c.price)
    if (prices.length > Q6_LAST_AUCTIONS) prices.shift()
    let sum = 0
    for (const p of prices) sum += p
    emit({ seller: c.seller, avgPrice: bigintAverage(sum, prices.length) })
  }, options)
}

/**
 * Time windows of `size` every `slide` (tumbling when equal), each firing once the clock passes its
 * end, in order of start. `add` gets the window's state for an event, `fire` gets it at the end.
 */
function timeWindows<S>(options: BaselineOptions, size: number, slide: number, create: () => S, fire: (start: number, state: S) => void) {
  const clock = new Clock(options.maxOutOfOrdernessMs)
  const windows = new Map<number, S>()
  let lowest = Infinity
  const fireUpTo = (watermark: number): void => {
    // Window starts are multiples of the slide, so stepping by it visits every window in order.
    while (windows.size > 0 && lowest + size - 1 <= watermark) {
      const state = windows.get(lowest)
      if (state !== undefined) {
        windows.delete(lowest)
        fire(lowest, state)
      }
      lowest += slide
    }
    if (windows.size === 0) lowest = Infinity
  }
  return {
    /** Calls `add` with the state of every window holding `timestamp`. */
    add(timestamp: number, add: (state: S) => void): void {
      const last = windowStart(timestamp, slide)
      for (let start = last; start > timestamp - size; start -= slide) {
        let state = windows.get(start)
        if (state === undefined) {
          windows.set(start, (state = create()))
          if (start < lowest) lowest = start
        }
        add(state)
      }
    },
    tick(timestamp: number): void {
      if (clock.advance(timestamp)) fireUpTo(clock.watermark)
    },
    finish(): void {
      fireUpTo(Infinity)
    },
  }
}

const q5: BaselineFactory<HotItem> = (emit, options) => {
  const windows = timeWindows(options, WINDOW_MS, Q5_SLIDE_MS, () => new Map<number, number>(), (start, counts) => {
    let max = 0
    for (const n of counts.values()) if (n > max) max = n
    for (const [auction, n] of counts) if (n >= max) emit({ auction, num: n, starttime: start, endtime: start + WINDOW_MS })
  })
  return {
    process(e) {
      if (e.kind === 'bid') {
        const auction = e.auction
        windows.add(e.dateTime, (counts) => counts.set(auction, (counts.get(auction) ?? 0) + 1))
      }
      windows.tick(e.dateTime)
    },
    finish: () => windows.finish(),
  }
}

const q7: BaselineFactory<HighestBid> = (emit, options) => {
  const windows = timeWindows(options, WINDOW_MS, WINDOW_MS, () => ({ price: -1, bids: [] as Bid[] }), (_start, best) => {
    for (const b of best.bids) emit({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, extra: b.extra })
  })
  return {
    process(e) {
      if (e.kind === 'bid') {
        windows.add(e.dateTime, (best) => {
          if (e.price > best.price) {
            best.price = e.price
            best.bids = [e]
          } else if (e.price === best.price) best.bids.push(e)
        })
      }
      windows.tick(e.dateTime)
    },
    finish: () => windows.finish(),
  }
}

const q8: BaselineFactory<NewSeller> = (emit, options) => {
  const windows = timeWindows(options, WINDOW_MS, WINDOW_MS, () => ({ persons: [] as Person[], sellers: new Set<number>() }), (start, w) => {
    for (const p of w.persons) if (w.sellers.has(p.id)) emit({ id: p.id, name: p.name, starttime: start })
  })
  return {
    process(e) {
      if (e.kind === 'person') windows.add(e.dateTime, (w) => w.persons.push(e))
      else if (e.kind === 'auction') windows.add(e.dateTime, (w) => w.sellers.add(e.seller))
      windows.tick(e.dateTime)
    },
    finish: () => windows.finish(),
  }
}

interface Session {
  start: number
  end: number
  count: number
}

const q11: BaselineFactory<BidderCount> = (emit, options) => {
  const clock = new Clock(options.maxOutOfOrdernessMs)
  /** Open sessions per bidder, merged as events join them; usually one. */
  const sessions = new Map<number, Session[]>()
  let nextSweep = -Infinity
  const sweep = (watermark: number): void => {
    for (const [bidder, list] of sessions) {
      let kept = 0
      for (const s of list) {
        if (s.end - 1 <= watermark) emit({ bidder, bidCount: s.count, starttime: s.start, endtime: s.end })
        else list[kept++] = s
      }
      if (kept === 0) sessions.delete(bidder)
      else list.length = kept
    }
  }
  return {
    process(e) {
      if (e.kind === 'bid') {
        const start = e.dateTime
        const end = start + WINDOW_MS
        const list = sessions.get(e.bidder)
        if (!list) sessions.set(e.bidder, [{ start, end, count: 1 }])
        else {
          // Windows that overlap or touch merge, as session windows do.
          let merged: Session = { start, end, count: 1 }
          let kept = 0
          for (const s of list) {
            if (s.start <= merged.end && s.end >= merged.start) merged = { start: Math.min(s.start, merged.start), end: Math.max(s.end, merged.end), count: s.count + merged.count }
            else list[kept++] = s
          }
          list.length = kept
          list.push(merged)
        }
      }
      if (clock.advance(e.dateTime) && clock.watermark >= nextSweep) {
        // Sweeping every second of event time is enough: sessions last at least 10 s.
        sweep(clock.watermark)
        nextSweep = clock.watermark + 1000
      }
    },
    finish() {
      sweep(Infinity)
    },
  }
}

const q12: BaselineFactory<BidderCount> = (emit) => {
  let start = -Infinity
  let counts = new Map<number, number>()
  const fire = (): void => {
    for (const [bidder, n] of counts) emit({ bidder, bidCount: n, starttime: start, endtime: start + WINDOW_MS })
    counts = new Map()
  }
  return {
    process(e) {
      if (e.kind !== 'bid') return
      const now = Date.now()
      if (now >= start + WINDOW_MS) {
        fire()
        start = windowStart(now, WINDOW_MS)
      }
      counts.set(e.bidder, (counts.get(e.bidder) ?? 0) + 1)
    },
    finish: fire,
  }
}

/** The baselines by query name. */
export const BASELINES: { [Q in QueryName]: BaselineFactory<unknown> } = {
  q0: q0 as BaselineFactory<unknown>,
  q1: q1 as BaselineFactory<unknown>,
  q2: q2 as BaselineFactory<unknown>,
  q3: q3 as BaselineFactory<unknown>,
  q4: q4 as BaselineFactory<unknown>,
  q5: q5 as BaselineFactory<unknown>,
  q6: q6 as BaselineFactory<unknown>,
  q7: q7 as BaselineFactory<unknown>,
  q8: q8 as BaselineFactory<unknown>,
  q11: q11 as BaselineFactory<unknown>,
  q12: q12 as BaselineFactory<unknown>,
}
