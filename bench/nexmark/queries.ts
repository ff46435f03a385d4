/**
 * Nexmark queries q0–q8, q11 and q12 as Weir jobs, written with the public API only. Semantics
 * follow the Flink SQL of `nexmark/nexmark` (nexmark-flink/src/main/resources/queries/*.sql);
 * docs/benchmarks.md lists where a DataStream program has to choose (q4, q6, q7, q12).
 */
import {
  EventTimeSessionWindows,
  ProcessingTimeTrigger,
  TriggerResult,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  ListStateDescriptor,
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  Types,
  ValueStateDescriptor,
  WatermarkStrategy,
  type AggregateFunction,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type ListState,
  type OnTimerContext,
  type ProcessWindowContext,
  type RuntimeContext,
  type StreamEnvironment,
  type TimeWindow,
  type Trigger,
  type TriggerContext,
  type ValueState,
} from '../../src/index.ts'
import type { NexmarkConfig } from './generator.ts'
import { NexmarkGenerator } from './generator.ts'
import type { Auction, Bid, NexmarkEvent, Person } from './model.ts'
import { nexmarkSource, type NexmarkSourceOptions } from './source.ts'

/** The out-of-orderness the reference's table declares: `WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND`. */
export const WATERMARK_DELAY_MS = 4000

/** Watermarks for a Nexmark stream: the reference's 4 s, or more if the stream is shuffled further. */
export function nexmarkWatermarks(config: NexmarkConfig | undefined): WatermarkStrategy<NexmarkEvent> {
  const disorder = config ? new NexmarkGenerator(config).maxOutOfOrdernessMs() : 0
  return WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(Math.max(WATERMARK_DELAY_MS, disorder))
}

/** The stream of Nexmark events of a job, with event time. */
export function nexmarkStream(env: StreamEnvironment, options: NexmarkSourceOptions): DataStream<NexmarkEvent> {
  return env.fromSource(nexmarkSource(options), nexmarkWatermarks(options.config), 'Nexmark').uid('nexmark-source')
}

/** The bids of the stream (the reference's `bid` view). */
export function bidsOf(events: DataStream<NexmarkEvent>): DataStream<Bid> {
  return events.flatMap<Bid>((e: NexmarkEvent, out: Collector<Bid>) => {
    if (e.kind === 'bid') out.collect(e)
  }, 'Bids')
}

/** The auctions of the stream. */
export function auctionsOf(events: DataStream<NexmarkEvent>): DataStream<Auction> {
  return events.flatMap<Auction>((e: NexmarkEvent, out: Collector<Auction>) => {
    if (e.kind === 'auction') out.collect(e)
  }, 'Auctions')
}

/** The people of the stream. */
export function personsOf(events: DataStream<NexmarkEvent>): DataStream<Person> {
  return events.flatMap<Person>((e: NexmarkEvent, out: Collector<Person>) => {
    if (e.kind === 'person') out.collect(e)
  }, 'Persons')
}

// ---------------------------------------------------------------------------------------------
// Result rows, shared with the baselines so both produce the same values.

/** q0 and q1: a bid's columns without channel and url. */
export interface BidRow {
  auction: number
  bidder: number
  price: number
  dateTime: number
  extra: string
}

/** q2. */
export interface AuctionPrice {
  auction: number
  price: number
}

/** q3. */
export interface LocalSeller {
  name: string
  city: string
  state: string
  id: number
}

/** q4: the average winning price of a category, updated as its auctions close. */
export interface CategoryPrice {
  category: number
  avgPrice: number
}

/** q5: an auction with the most bids in a sliding window. */
export interface HotItem {
  auction: number
  num: number
  starttime: number
  endtime: number
}

/** q6: the average winning price of a seller's last 10 closed auctions, updated as they close. */
export interface SellerPrice {
  seller: number
  avgPrice: number
}

/** q7: a bid with the highest price of its window. */
export interface HighestBid {
  auction: number
  price: number
  bidder: number
  dateTime: number
  extra: string
}

/** q8: a person who opened an auction in the window they registered in. */
export interface NewSeller {
  id: number
  name: string
  starttime: number
}

/** q11 and q12: bids of a bidder in a window. */
export interface BidderCount {
  bidder: number
  bidCount: number
  starttime: number
  endtime: number
}

/** An auction that ended with at least one bid in its lifetime: its highest price. */
export interface ClosedAuction {
  auction: number
  seller: number
  category: number
  price: number
  expires: number
}

/** The US states of q3. */
export const Q3_STATES: ReadonlySet<string> = new Set(['OR', 'ID', 'CA'])
/** The category of q3. */
export const Q3_CATEGORY = 10
/** Dollars to euros, as the reference's q1. */
export const EUROS_PER_DOLLAR = 0.908
/** Window sizes of q5, q7, q8, q11 and q12. */
export const WINDOW_MS = 10_000
/** The slide of q5's windows. */
export const Q5_SLIDE_MS = 2_000
/** Closed auctions per seller averaged by q6. */
export const Q6_LAST_AUCTIONS = 10

/** AVG over BIGINT in Flink SQL is a BIGINT: the quotient truncated. */
export function bigintAverage(sum: number, count: number): number {
  return Math.trunc(sum / count)
}

/** Start of the tumbling window of `size` holding `timestamp`. */
export function windowStart(timestamp: number, size: number): number {
  return timestamp - (((timestamp % size) + size) % size)
}

const countBids: AggregateFunction<Bid, number, number> = {
  createAccumulator: () => 0,
  add: (_bid, count) => count + 1,
  getResult: (count) => count,
  merge: (a, b) => a + b,
}

// ---------------------------------------------------------------------------------------------
// Stateless queries.

/** q0: every bid, passed through (projected as the reference's sink table). */
export function q0(events: DataStream<NexmarkEvent>): DataStream<BidRow> {
  return bidsOf(events).map((b: Bid): BidRow => ({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra }), 'q0 project')
}

/** q1: bid prices in euros. */
export function q1(events: DataStream<NexmarkEvent>): DataStream<BidRow> {
  return bidsOf(events).map(
    (b: Bid): BidRow => ({ auction: b.auction, bidder: b.bidder, price: EUROS_PER_DOLLAR * b.price, dateTime: b.dateTime, extra: b.extra }),
    'q1 to euros',
  )
}

/** q2: bids on every 123rd auction. */
export function q2(events: DataStream<NexmarkEvent>): DataStream<AuctionPrice> {
  return bidsOf(events)
    .filter((b: Bid) => b.auction % 123 === 0, 'q2 filter')
    .map((b: Bid): AuctionPrice => ({ auction: b.auction, price: b.price }), 'q2 project')
}

// ---------------------------------------------------------------------------------------------
// q3: a regular (unwindowed) join of auctions and people on the seller, in keyed state.

interface SellerInfo {
  name: string
  city: string
  state: string
}

/** Joins auctions (input 1) with their sellers (input 2); either may come first. */
class JoinLocalSellers extends KeyedCoProcessFunction<number, Auction, Person, LocalSeller> {
  private person!: ValueState<SellerInfo>
  /** Auctions whose seller has not registered yet. */
  private waiting!: ListState<number>

  override open(ctx: RuntimeContext): void {
    this.person = ctx.getState(new ValueStateDescriptor<SellerInfo>('seller'))
    this.waiting = ctx.getListState(new ListStateDescriptor<number>('auctions-waiting', Types.number))
  }

  processElement1(auction: Auction, _ctx: KeyedProcessContext<number>, out: Collector<LocalSeller>): void {
    const p = this.person.value()
    if (p) out.collect({ name: p.name, city: p.city, state: p.state, id: auction.id })
    else this.waiting.add(auction.id)
  }

  processElement2(person: Person, _ctx: KeyedProcessContext<number>, out: Collector<LocalSeller>): void {
    const p: SellerInfo = { name: person.name, city: person.city, state: person.state }
    this.person.update(p)
    const ids = this.waiting.get()
    if (ids.length === 0) return
    for (const id of ids) out.collect({ name: p.name, city: p.city, state: p.state, id })
    this.waiting.clear()
  }
}

/** q3: who sells in category 10 from OR, ID or CA, and which auctions. */
export function q3(events: DataStream<NexmarkEvent>): DataStream<LocalSeller> {
  const auctions = auctionsOf(events).filter((a: Auction) => a.category === Q3_CATEGORY, 'q3 category')
  const persons = personsOf(events).filter((p: Person) => Q3_STATES.has(p.state), 'q3 states')
  return auctions
    .keyBy((a: Auction) => a.seller)
    .connect(persons.keyBy((p: Person) => p.id))
    .process(new JoinLocalSellers(), 'q3 join')
    .uid('q3-join')
}

// ---------------------------------------------------------------------------------------------
// q4 and q6: the winning (highest) bid of each auction among the bids in its lifetime.

interface OpenAuction {
  dateTime: number
  expires: number
  seller: number
  category: number
  /** The highest price of a counting bid so far; -1 before one. */
  best: number
  /** Emitted already; kept a while so that its late bids are dropped at once rather than kept as early ones. */
  closed: boolean
}

/**
 * How long (event time) a closed auction is remembered. Any value is correct: it only decides
 * whether a bid for a closed auction is dropped at once or waits as an early bid until the
 * watermark passes it. Bids keep naming an auction for a few hundred milliseconds after it ends.
 */
export const CLOSED_AUCTION_MEMORY_MS = 10_000

/** An auction or a bid: q4 and q6 key both by auction id in one stream. */
type AuctionOrBid = Auction | Bid

/**
 * Keyed by auction id, fed auctions and bids in one stream. A bid counts when its time is within
 * [dateTime, expires] of the auction, as the reference's `B.dateTime BETWEEN A.dateTime AND
 * A.expires`. Once the watermark passes `expires` no counting bid can come: the auction is closed
 * and emitted with its highest price (auctions without such bids are not, as in an inner join).
 *
 * One stream rather than two connected ones: records of one source split keep their order through
 * a keyed channel, so an auction comes before the bids on it except for bids on the next few
 * auctions to open. Two inputs would travel in separate batches, and the auctions, being rarer,
 * fill theirs slowly: most bids would come before their auction. Early bids wait in state; once the
 * watermark passes a bid's time it can never count (any auction still to come is newer) and is
 * dropped, by one cleanup timer per auction at the oldest waiting bid.
 */
class WinningBids extends KeyedProcessFunction<number, AuctionOrBid, ClosedAuction> {
  private auction!: ValueState<OpenAuction>
  /** [price, dateTime] of bids that came before their auction. */
  private early!: ListState<[number, number]>
  /** The time of the cleanup timer of the early bids, when one is set. */
  private earlyCleanup!: ValueState<number>

  override open(ctx: RuntimeContext): void {
    this.auction = ctx.getState(new ValueStateDescriptor<OpenAuction>('auction'))
    this.early = ctx.getListState(new ListStateDescriptor<[number, number]>('early-bids'))
    this.earlyCleanup = ctx.getState(new ValueStateDescriptor<number>('early-cleanup', Types.number))
  }

  processElement(e: AuctionOrBid, ctx: KeyedProcessContext<number>): void {
    if (e.kind === 'bid') this.onBid(e, ctx)
    else this.onAuction(e, ctx)
  }

  private onAuction(a: Auction, ctx: KeyedProcessContext<number>): void {
    let best = -1
    if (this.earlyCleanup.value() !== undefined) {
      for (const [price, time] of this.early.get()) if (time >= a.dateTime && time <= a.expires && price > best) best = price
      this.early.clear()
      // Its timer stays: it finds the auction and does nothing.
      this.earlyCleanup.clear()
    }
    this.auction.update({ dateTime: a.dateTime, expires: a.expires, seller: a.seller, category: a.category, best, closed: false })
    ctx.timerService().registerEventTimeTimer(a.expires)
  }

  private onBid(b: Bid, ctx: KeyedProcessContext<number>): void {
    const a = this.auction.value()
    if (a === undefined) {
      this.early.add([b.price, b.dateTime])
      if (this.earlyCleanup.value() === undefined) {
        ctx.timerService().registerEventTimeTimer(b.dateTime)
        this.earlyCleanup.update(b.dateTime)
      }
      return
    }
    if (a.closed || b.price <= a.best || b.dateTime < a.dateTime || b.dateTime > a.expires) return
    this.auction.update({ ...a, best: b.price })
  }

  override onTimer(time: number, ctx: OnTimerContext<number>, out: Collector<ClosedAuction>): void {
    const a = this.auction.value()
    if (a === undefined) this.dropEarlyBids(time, ctx)
    else if (a.closed) {
      if (time === a.expires + CLOSED_AUCTION_MEMORY_MS) this.auction.clear()
    } else if (time === a.expires) {
      if (a.best >= 0) out.collect({ auction: ctx.getCurrentKey(), seller: a.seller, category: a.category, price: a.best, expires: a.expires })
      this.auction.update({ ...a, closed: true })
      ctx.timerService().registerEventTimeTimer(a.expires + CLOSED_AUCTION_MEMORY_MS)
    }
  }

  private dropEarlyBids(time: number, ctx: OnTimerContext<number>): void {
    const early = this.early.get()
    const keep = early.filter(([, t]) => t > time)
    if (keep.length === 0) {
      this.early.clear()
      this.earlyCleanup.clear()
      return
    }
    if (keep.length < early.length) this.early.update(keep)
    let next = Infinity
    for (const [, t] of keep) if (t < next) next = t
    if (this.earlyCleanup.value() !== next) {
      ctx.timerService().registerEventTimeTimer(next)
      this.earlyCleanup.update(next)
    }
  }
}

/** Closed auctions with their winning price (emitted at `expires`, with that timestamp). */
export function closedAuctions(events: DataStream<NexmarkEvent>): DataStream<ClosedAuction> {
  return events
    .flatMap<AuctionOrBid>((e: NexmarkEvent, out: Collector<AuctionOrBid>) => {
      if (e.kind !== 'person') out.collect(e)
    }, 'Auctions and bids')
    .keyBy((e: AuctionOrBid) => (e.kind === 'bid' ? e.auction : e.id))
    .process(new WinningBids(), 'winning bids')
    .uid('winning-bids')
}

/** Running average of the winning prices per category. */
class CategoryAverage extends KeyedProcessFunction<number, ClosedAuction, CategoryPrice> {
  private totals!: ValueState<[number, number]>

  override open(ctx: RuntimeContext): void {
    this.totals = ctx.getState(new ValueStateDescriptor<[number, number]>('sum-count'))
  }

  processElement(c: ClosedAuction, _ctx: KeyedProcessContext<number>, out: Collector<CategoryPrice>): void {
    const [sum, count] = this.totals.value() ?? [0, 0]
    const next: [number, number] = [sum + c.price, count + 1]
    this.totals.update(next)
    out.collect({ category: c.category, avgPrice: bigintAverage(next[0], next[1]) })
  }
}

/** q4: the average winning price per category (an update per closed auction; the last is the result). */
export function q4(events: DataStream<NexmarkEvent>): DataStream<CategoryPrice> {
  return closedAuctions(events)
    .keyBy((c: ClosedAuction) => c.category)
    .process(new CategoryAverage(), 'q4 average')
    .uid('q4-average')
}

/**
 * Per seller, the average winning price of the last 10 closed auctions. Closed auctions are taken
 * in order of (expires, auction id): they wait in state until the watermark passes their time, so
 * the order does not depend on how the upstream subtasks interleave.
 */
class SellerAverage extends KeyedProcessFunction<number, ClosedAuction, SellerPrice> {
  private pending!: ListState<ClosedAuction>
  private last!: ValueState<number[]>

  override open(ctx: RuntimeContext): void {
    this.pending = ctx.getListState(new ListStateDescriptor<ClosedAuction>('pending'))
    this.last = ctx.getState(new ValueStateDescriptor<number[]>('last-prices'))
  }

  processElement(c: ClosedAuction, ctx: KeyedProcessContext<number>): void {
    this.pending.add(c)
    ctx.timerService().registerEventTimeTimer(c.expires)
  }

  override onTimer(time: number, ctx: OnTimerContext<number>, out: Collector<SellerPrice>): void {
    const pending = this.pending.get()
    const ready = pending.filter((c) => c.expires <= time)
    if (ready.length === 0) return
    if (ready.length === pending.length) this.pending.clear()
    else this.pending.update(pending.filter((c) => c.expires > time))
    ready.sort((a, b) => a.expires - b.expires || a.auction - b.auction)
    let prices = this.last.value() ?? []
    for (const c of ready) {
      prices = prices.length < Q6_LAST_AUCTIONS ? [...prices, c.price] : [...prices.slice(1), c.price]
      let sum = 0
      for (const p of prices) sum += p
      out.collect({ seller: ctx.getCurrentKey(), avgPrice: bigintAverage(sum, prices.length) })
    }
    this.last.update(prices)
  }
}

/** q6: average selling price per seller over their last 10 closed auctions (an update per closed auction). */
export function q6(events: DataStream<NexmarkEvent>): DataStream<SellerPrice> {
  return closedAuctions(events)
    .keyBy((c: ClosedAuction) => c.seller)
    .process(new SellerAverage(), 'q6 average')
    .uid('q6-average')
}

// ---------------------------------------------------------------------------------------------
// Windowed queries.

/** q5: per sliding window (10 s every 2 s), the auctions with the most bids. */
export function q5(events: DataStream<NexmarkEvent>): DataStream<HotItem> {
  return bidsOf(events)
    .keyBy((b: Bid) => b.auction)
    .window(SlidingEventTimeWindows.of(WINDOW_MS, Q5_SLIDE_MS))
    .aggregate(countBids, (auction: number, ctx: ProcessWindowContext<TimeWindow>, counts: number[], out: Collector<HotItem>) =>
      out.collect({ auction, num: counts[0], starttime: ctx.window.start, endtime: ctx.window.end }),
    )
    .uid('q5-counts')
    // Each count carries its window's last millisecond, so the 2 s tumbling window holding it is
    // that sliding window's slot: one group per sliding window.
    .keyBy((h: HotItem) => h.endtime)
    .window(TumblingEventTimeWindows.of(Q5_SLIDE_MS))
    .process((_end: number, _ctx: ProcessWindowContext<TimeWindow>, items: HotItem[], out: Collector<HotItem>) => {
      let max = 0
      for (const h of items) if (h.num > max) max = h.num
      for (const h of items) if (h.num >= max) out.collect(h)
    })
    .uid('q5-max')
}

/** The highest price of a window and the bids that offered it. */
interface HighestBids {
  price: number
  bids: Bid[]
}

const highestBids: AggregateFunction<Bid, HighestBids, HighestBids> = {
  createAccumulator: () => ({ price: -1, bids: [] }),
  add: (b, acc) => {
    if (b.price > acc.price) return { price: b.price, bids: [b] }
    // Changed in place, as Flink's AggregateFunction allows: the state backend copies on write.
    if (b.price === acc.price) acc.bids.push(b)
    return acc
  },
  getResult: (acc) => acc,
  merge: (a, b) => (a.price === b.price ? { price: a.price, bids: [...a.bids, ...b.bids] } : a.price > b.price ? a : b),
}

/** q7: the bids with the highest price in each tumbling 10 s window. */
export function q7(events: DataStream<NexmarkEvent>): DataStream<HighestBid> {
  return bidsOf(events)
    .keyBy(() => 0)
    .window(TumblingEventTimeWindows.of(WINDOW_MS))
    .aggregate(highestBids, (_key: number, _ctx: ProcessWindowContext<TimeWindow>, results: HighestBids[], out: Collector<HighestBid>) => {
      for (const b of results[0].bids) out.collect({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, extra: b.extra })
    })
    .uid('q7-max')
}

/** q8: people who opened an auction in the tumbling 10 s window they registered in. */
export function q8(events: DataStream<NexmarkEvent>): DataStream<NewSeller> {
  return personsOf(events)
    .coGroup(auctionsOf(events))
    .where((p: Person) => p.id)
    .equalTo((a: Auction) => a.seller)
    .window(TumblingEventTimeWindows.of(WINDOW_MS))
    .apply((persons: Person[], auctions: Auction[], out: Collector<NewSeller>) => {
      if (auctions.length === 0) return
      for (const p of persons) out.collect({ id: p.id, name: p.name, starttime: windowStart(p.dateTime, WINDOW_MS) })
    })
    .uid('q8-join')
}

function bidderCount(bidder: number, ctx: ProcessWindowContext<TimeWindow>, counts: number[], out: Collector<BidderCount>): void {
  out.collect({ bidder, bidCount: counts[0], starttime: ctx.window.start, endtime: ctx.window.end })
}

/** q11: bids per bidder per session (sessions end after 10 s without a bid). */
export function q11(events: DataStream<NexmarkEvent>): DataStream<BidderCount> {
  return bidsOf(events)
    .keyBy((b: Bid) => b.bidder)
    .window(EventTimeSessionWindows.withGap(WINDOW_MS))
    .aggregate(countBids, bidderCount)
    .uid('q11-sessions')
}

/** An event-time timer here fires only when the input ends (the last watermark is +Infinity). */
const END_OF_INPUT = Number.MAX_SAFE_INTEGER

/**
 * Fires a processing-time window when the clock passes its end, as `ProcessingTimeTrigger`, and
 * also when a bounded input ends. Without the second, the windows still open at the end are
 * dropped: pending processing-time timers do not fire at the end of input (nor do they in Flink).
 */
class ProcessingTimeOrEndOfInput implements Trigger<unknown, TimeWindow> {
  private readonly inner = ProcessingTimeTrigger.create<TimeWindow>()

  onElement(element: unknown, timestamp: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    ctx.registerEventTimeTimer(END_OF_INPUT)
    return this.inner.onElement(element, timestamp, window, ctx)
  }

  onEventTime(time: number): TriggerResult {
    return time === END_OF_INPUT ? TriggerResult.FIRE : TriggerResult.CONTINUE
  }

  onProcessingTime(time: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    return this.inner.onProcessingTime(time, window, ctx)
  }

  clear(window: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(END_OF_INPUT)
    this.inner.clear(window, ctx)
  }

  toString(): string {
    return 'ProcessingTimeOrEndOfInput()'
  }
}

/** q12: bids per bidder per tumbling 10 s window of processing time. */
export function q12(events: DataStream<NexmarkEvent>): DataStream<BidderCount> {
  return bidsOf(events)
    .keyBy((b: Bid) => b.bidder)
    .window(TumblingProcessingTimeWindows.of(WINDOW_MS))
    .trigger(new ProcessingTimeOrEndOfInput())
    .aggregate(countBids, bidderCount)
    .uid('q12-windows')
}

/** The queries by name, in the order the benchmark runs them. */
export const QUERIES = {
  q0: { build: q0, stateful: false, summary: 'pass-through of bids' },
  q1: { build: q1, stateful: false, summary: 'bid prices in euros (map)' },
  q2: { build: q2, stateful: false, summary: 'bids on every 123rd auction (filter)' },
  q3: { build: q3, stateful: true, summary: 'local sellers in category 10 (keyed join, state)' },
  q4: { build: q4, stateful: true, summary: 'average winning price per category (join, state, timers)' },
  q5: { build: q5, stateful: true, summary: 'hot items (sliding windows 10 s / 2 s, max per window)' },
  q6: { build: q6, stateful: true, summary: 'average price of a seller\'s last 10 auctions (join, list state)' },
  q7: { build: q7, stateful: true, summary: 'highest bids per tumbling 10 s window' },
  q8: { build: q8, stateful: true, summary: 'new sellers (window join of people and auctions)' },
  q11: { build: q11, stateful: true, summary: 'bids per bidder per session (gap 10 s)' },
  q12: { build: q12, stateful: true, summary: 'bids per bidder per processing-time window (10 s)' },
} as const

/** A query's name. */
export type QueryName = keyof typeof QUERIES

/** The query names, in order. */
export const QUERY_NAMES = Object.keys(QUERIES) as QueryName[]
