import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { collectSink, ProcessFunction, StreamEnvironment, type Collector, type ProcessContext, type ReaderOutput, type SourceOutput } from '../../src/index.ts'
import { runBaseline, runWeir } from '../../bench/nexmark/harness.ts'
import { FIRST_AUCTION_ID, FIRST_PERSON_ID, nexmarkConfig, nexmarkEvent, nexmarkEvents, NexmarkGenerator } from '../../bench/nexmark/generator.ts'
import type { NexmarkEvent } from '../../bench/nexmark/model.ts'
import { nexmarkStream, QUERY_NAMES, type BidderCount, type CategoryPrice, type QueryName } from '../../bench/nexmark/queries.ts'
import { nexmarkSource, type NexmarkSplit } from '../../bench/nexmark/source.ts'

/**
 * One event per millisecond of event time, so a short run spans a minute: enough for several
 * tumbling, sliding and session windows of 10 s.
 */
const config = nexmarkConfig({ seed: 7, eventsPerSecond: 1000 })
const EVENTS = 60_000
/**
 * The slowest jobs (five sliding windows per bid, merging session windows) get half a minute of
 * event time, and the pass-through ones, whose every bid is a row to compare, a third.
 */
const EVENTS_OF: Partial<Record<QueryName, number>> = { q0: 20_000, q1: 20_000, q5: 30_000, q11: 30_000 }
const PARALLELISM = 2

function sortedJson(values: readonly unknown[]): string[] {
  return values.map((v) => JSON.stringify(v)).sort()
}

/** The last row per category: q4's result once every auction closed (earlier rows depend on arrival order). */
function finalPerCategory(rows: readonly unknown[]): Map<number, number> {
  const last = new Map<number, number>()
  for (const r of rows as CategoryPrice[]) last.set(r.category, r.avgPrice)
  return last
}

/** Bids per bidder over all windows: processing-time windows differ run to run, these totals do not. */
function totalsPerBidder(rows: readonly unknown[]): Map<number, number> {
  const totals = new Map<number, number>()
  for (const r of rows as BidderCount[]) totals.set(r.bidder, (totals.get(r.bidder) ?? 0) + r.bidCount)
  return totals
}

function sortedEntries(map: Map<number, number>): [number, number][] {
  return [...map].sort((a, b) => a[0] - b[0])
}

/** Pairs each event with the timestamp the source gave it. */
class WithTimestamp extends ProcessFunction<NexmarkEvent, [NexmarkEvent, number]> {
  processElement(e: NexmarkEvent, ctx: ProcessContext, out: Collector<[NexmarkEvent, number]>): void {
    out.collect([e, ctx.timestamp() ?? Number.NaN])
  }
}

/** Collects what a reader emits, as its split outputs see it. */
class CollectingOutput implements ReaderOutput<NexmarkEvent> {
  readonly events: NexmarkEvent[] = []
  readonly timestamps: number[] = []
  collect(value: NexmarkEvent, timestamp?: number): void {
    this.events.push(value)
    this.timestamps.push(timestamp ?? Number.NaN)
  }
  createOutputForSplit(): SourceOutput<NexmarkEvent> {
    return this
  }
}

describe('Nexmark generator', () => {
  it('follows the reference proportions, ids and sizes', () => {
    const events = nexmarkEvents(config, 0, 50_000)
    const kinds = events.slice(0, 50).map((e) => e.kind)
    assert.deepEqual(kinds.slice(0, 4), ['person', 'auction', 'auction', 'auction'])
    assert.equal(kinds.filter((k) => k === 'bid').length, 46)
    const persons = events.filter((e) => e.kind === 'person')
    const auctions = events.filter((e) => e.kind === 'auction')
    assert.deepEqual(persons.map((p) => p.id), persons.map((_, i) => FIRST_PERSON_ID + i))
    assert.deepEqual(auctions.map((a) => a.id), auctions.map((_, i) => FIRST_AUCTION_ID + i))
    const bids = events.filter((e) => e.kind === 'bid')
    const maxPerson = FIRST_PERSON_ID + persons.length + 10
    for (const b of bids) assert.ok(b.bidder >= FIRST_PERSON_ID && b.bidder < maxPerson, `bidder ${b.bidder} is a person id`)
    const avg = (sizes: number[]): number => sizes.reduce((a, b) => a + b, 0) / sizes.length
    assert.ok(Math.abs(avg(bids.map((b) => 32 + b.extra.length)) - 100) < 2, 'bids average 100 bytes')
    assert.ok(Math.abs(avg(auctions.map((a) => 48 + a.itemName.length + a.description.length + a.extra.length)) - 500) < 10, 'auctions average 500 bytes')
    // One event per millisecond at 1000 events/s.
    assert.equal(events[1234].dateTime - events[0].dateTime, 1234)
  })

  it('makes each event a pure function of (seed, position)', () => {
    const forward = nexmarkEvents(config, 0, 2000)
    const generator = new NexmarkGenerator(config)
    for (let p = 1999; p >= 0; p -= 7) assert.deepEqual(generator.event(p), forward[p])
    assert.deepEqual(nexmarkEvent(config, 1500), forward[1500])
    const other = nexmarkEvents(nexmarkConfig({ seed: 8, eventsPerSecond: 1000 }), 0, 2000)
    assert.notDeepEqual(other, forward)
  })

  it('shuffles within out-of-order groups and keeps every event', () => {
    const shuffled = nexmarkConfig({ seed: 7, outOfOrderGroupSize: 10 })
    const generator = new NexmarkGenerator(shuffled)
    const numbers = Array.from({ length: 100 }, (_, p) => generator.eventNumberAt(p))
    assert.notDeepEqual(numbers, [...numbers].sort((a, b) => a - b))
    assert.deepEqual([...numbers].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i))
  })
})

describe('Nexmark source', () => {
  it('gives the same events at any parallelism, stamped with their event time', async () => {
    const n = 5000
    const want = sortedJson(nexmarkEvents(config, 0, n))
    for (const parallelism of [1, 3]) {
      const env = StreamEnvironment.create({ parallelism })
      const got: [NexmarkEvent, number][] = []
      nexmarkStream(env, { events: n, config })
        .process(new WithTimestamp())
        .sinkTo(collectSink(got))
      await env.execute()
      assert.deepEqual(sortedJson(got.map(([e]) => e)), want, `parallelism ${parallelism}`)
      for (const [e, ts] of got) assert.equal(ts, e.dateTime)
    }
  })

  it('resumes a split from its checkpointed position', () => {
    const source = nexmarkSource({ events: 3000, config, batch: 100 })
    const split: NexmarkSplit = { splitId: 's', next: 1, end: 3000, stride: 2 }
    const first = source.createReader({ subtaskIndex: 0, parallelism: 1, sendSplitRequest: () => {} })
    first.addSplits([split])
    const before = new CollectingOutput()
    for (let i = 0; i < 4; i++) first.pollNext(before)
    const state = first.snapshotState(1)
    assert.deepEqual(state, [{ splitId: 's', next: 801, end: 3000, stride: 2 }])
    const second = source.createReader({ subtaskIndex: 0, parallelism: 1, sendSplitRequest: () => {} })
    second.addSplits(state)
    second.notifyNoMoreSplits()
    const after = new CollectingOutput()
    while (second.pollNext(after) !== 'end') {
      // drain
    }
    const odd = nexmarkEvents(config, 0, 3000).filter((_, p) => p % 2 === 1)
    assert.deepEqual([...before.events, ...after.events], odd)
    assert.deepEqual(after.timestamps, after.events.map((e) => e.dateTime))
  })
})

describe('Nexmark queries agree with their plain-loop baselines', () => {
  for (const query of QUERY_NAMES) {
    it(query, async () => {
      const events = EVENTS_OF[query] ?? EVENTS
      const got: unknown[] = []
      await runWeir(query, { events, parallelism: PARALLELISM, config, sink: collectSink(got) })
      const want: unknown[] = []
      runBaseline(query, { events, config, emit: (row) => want.push(row) })
      assert.ok(want.length > 0, `${query} has results on this run`)
      if (query === 'q4') {
        assert.equal(got.length, want.length, 'one row per closed auction')
        assert.deepEqual(sortedEntries(finalPerCategory(got)), sortedEntries(finalPerCategory(want)))
      } else if (query === 'q12') {
        const bids = nexmarkEvents(config, 0, events).filter((e) => e.kind === 'bid').length
        const totals = totalsPerBidder(got)
        assert.equal([...totals.values()].reduce((a, b) => a + b, 0), bids, 'every bid is counted once')
        assert.deepEqual(sortedEntries(totals), sortedEntries(totalsPerBidder(want)))
      } else {
        assert.deepEqual(sortedJson(got), sortedJson(want))
      }
    })
  }
})
