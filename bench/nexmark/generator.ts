/**
 * The Nexmark event generator, matching the reference generator of `nexmark/nexmark` (Flink),
 * read at commit 6b3646c3baec701f1fa74baf938d235f742e5d3c (`GeneratorConfig`, `NexmarkGenerator`,
 * `PersonGenerator`, `AuctionGenerator`, `BidGenerator`, `PriceGenerator`, `StringsGenerator`):
 * the same proportions, id arithmetic, hot ratios, prices, auction lengths, timestamps and `extra`
 * padding. Where it differs (see docs/benchmarks.md): the bidder id gets the first person id added
 * once (as in Beam and in that repository's first version), and random draws come from a
 * generator seeded by (seed, event id) rather than from an unseeded one, so every event is a pure
 * function of its number.
 */
import { Auction, Bid, Person, type NexmarkEvent } from './model.ts'

/** Everything that shapes the event stream. Defaults are the reference's `NexmarkConfiguration`. */
export interface NexmarkConfig {
  /** Seeds every random choice: the same seed and event number always give the same event. */
  readonly seed: number
  /** Event time of event number 0, in epoch milliseconds. */
  readonly baseTime: number
  /** Events per second of event time; the inter-event delay is its inverse (the reference's first-event rate). */
  readonly eventsPerSecond: number
  readonly personProportion: number
  readonly auctionProportion: number
  readonly bidProportion: number
  /** Average sizes in bytes as the reference counts them (8 per number, 1 per character); `extra` pads to them. */
  readonly avgPersonByteSize: number
  readonly avgAuctionByteSize: number
  readonly avgBidByteSize: number
  /** Bids go to a hot auction with probability 1 - 1/ratio. */
  readonly hotAuctionRatio: number
  /** Auctions are opened by a hot seller with probability 1 - 1/ratio. */
  readonly hotSellersRatio: number
  /** Bids come from a hot bidder with probability 1 - 1/ratio. */
  readonly hotBiddersRatio: number
  /** Auctions in flight at a time: other bids pick among the latest this many (plus a few not opened yet). */
  readonly numInFlightAuctions: number
  /** People who may sell or bid: the latest this many (plus a few not registered yet). */
  readonly numActivePeople: number
  /** Events are shuffled within groups of this many (1: in order), as the reference's out-of-order groups. */
  readonly outOfOrderGroupSize: number
}

/** 2015-07-15T00:00:00Z, the base time of Beam's Nexmark. */
export const NEXMARK_BASE_TIME = Date.UTC(2015, 6, 15)

/** The reference's defaults: 10,000 events per second of event time, 1/3/46 of 50, 200/500/100 bytes. */
export const DEFAULT_NEXMARK_CONFIG: NexmarkConfig = Object.freeze({
  seed: 0,
  baseTime: NEXMARK_BASE_TIME,
  eventsPerSecond: 10_000,
  personProportion: 1,
  auctionProportion: 3,
  bidProportion: 46,
  avgPersonByteSize: 200,
  avgAuctionByteSize: 500,
  avgBidByteSize: 100,
  hotAuctionRatio: 2,
  hotSellersRatio: 4,
  hotBiddersRatio: 4,
  numInFlightAuctions: 100,
  numActivePeople: 1000,
  outOfOrderGroupSize: 1,
})

/** The defaults with some settings changed. */
export function nexmarkConfig(overrides: Partial<NexmarkConfig> = {}): NexmarkConfig {
  const config = { ...DEFAULT_NEXMARK_CONFIG, ...overrides }
  for (const [name, value] of Object.entries(config)) {
    if (!Number.isFinite(value)) throw new RangeError(`Nexmark setting ${name} must be a finite number, got ${value}`)
  }
  if (!(config.eventsPerSecond > 0)) throw new RangeError(`eventsPerSecond must be positive, got ${config.eventsPerSecond}`)
  if (!Number.isInteger(config.outOfOrderGroupSize) || config.outOfOrderGroupSize < 1) {
    throw new RangeError(`outOfOrderGroupSize must be a positive integer, got ${config.outOfOrderGroupSize}`)
  }
  return Object.freeze(config)
}

/** Ids start here so that queries find matches even in short runs (as the reference). */
export const FIRST_PERSON_ID = 1000
/** First auction id. */
export const FIRST_AUCTION_ID = 1000
/** First of the five categories. */
export const FIRST_CATEGORY_ID = 10
const NUM_CATEGORIES = 5
/** Ids that may be picked before the person or auction with that id exists. */
const PERSON_ID_LEAD = 10
const AUCTION_ID_LEAD = 10
/** Hot people and auctions are the first of each block of this many ids. */
const HOT_BATCH = 100
const HOT_CHANNELS_RATIO = 2
const CHANNELS_NUMBER = 10_000
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'] as const
const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'] as const
const US_CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'] as const
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'] as const
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'] as const
const CREDIT_CARD_GROUPS = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'))
const MIN_STRING_LENGTH = 3
/** Length of the shared strings random text is cut from (the reference cuts `extra` from 1 MiB the same way). */
const POOL_LENGTH = 1 << 20

const LN10_TIMES_6 = Math.LN10 * 6
const TWO_32 = 4294967296
const TWO_53 = 9007199254740992

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) | 0
}

/**
 * A small counter-based random generator (a Weyl sequence through murmur3's finalizer). It is
 * reseeded for every event from (seed, event id), as Beam reseeds `java.util.Random` with the
 * event id, so no event depends on the ones before it.
 */
class Random {
  private state = 0

  reseed(seedHash: number, id: number): void {
    const low = id % TWO_32 | 0
    const high = Math.floor(id / TWO_32) | 0
    this.state = fmix32(fmix32(low ^ seedHash) + high)
  }

  private nextU32(): number {
    const s = (this.state = (this.state + 0x9e3779b9) | 0)
    return fmix32(s) >>> 0
  }

  /** Uniform in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor((this.nextU32() / TWO_32) * bound)
  }

  /** Uniform in [0, 1), 53 bits. */
  nextDouble(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / TWO_53
  }

  /** Uniform in [0, n) for any safe n, as the reference's `LongGenerator.nextLong`. */
  nextLong(n: number): number {
    return n < 2147483647 ? this.nextInt(n) : Math.floor(this.nextDouble() * n)
  }
}

/** Characters a-z, with `special` one time in 13, as the reference's `nextString`. */
function randomText(random: Random, length: number, special: number): string {
  const codes = new Uint8Array(length)
  for (let i = 0; i < length; i++) codes[i] = random.nextInt(13) === 0 ? special : 97 + random.nextInt(26)
  return Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength).toString('latin1')
}

/** Characters a-z only, as the reference's `nextExactString`. */
function randomLetters(random: Random, length: number): string {
  const codes = new Uint8Array(length)
  for (let i = 0; i < length; i++) codes[i] = 97 + random.nextInt(26)
  return Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength).toString('latin1')
}

/** The reference's Java `Math.abs(Integer.reverse(i))`, including its overflow at 1. */
function reversedChannelId(i: number): number {
  let x = i >>> 0
  let r = 0
  for (let b = 0; b < 32; b++) {
    r = (r << 1) | (x & 1)
    x >>>= 1
  }
  const signed = r | 0
  return signed === -2147483648 ? signed : Math.abs(signed)
}

/** Tables that depend on the seed only: built once per seed and shared. */
interface SeedTables {
  seedHash: number
  /** Random text with spaces, cut into names, descriptions and e-mail parts. */
  text: string
  /** Random letters, cut into `extra`. */
  letters: string
  hotUrls: string[]
  channelNames: string[]
  channelUrls: string[]
}

const tablesBySeed = new Map<number, SeedTables>()

function seedTables(seed: number): SeedTables {
  let tables = tablesBySeed.get(seed)
  if (tables) return tables
  const seedHash = fmix32(seed | 0) ^ fmix32(Math.floor(seed / TWO_32) | 0)
  const random = new Random()
  // Event ids are >= 0, so the tables draw from negative "ids", which no event uses.
  random.reseed(seedHash, -1)
  const text = randomText(random, POOL_LENGTH, 32)
  random.reseed(seedHash, -2)
  const letters = randomLetters(random, POOL_LENGTH)
  random.reseed(seedHash, -3)
  const baseUrl = (): string => {
    const part = (): string => randomText(random, MIN_STRING_LENGTH + random.nextInt(5 - MIN_STRING_LENGTH), 95)
    return `https://www.nexmark.com/${part()}/${part()}/${part()}/item.htm?query=1`
  }
  const hotUrls = HOT_CHANNELS.map(() => baseUrl())
  const channelNames: string[] = []
  const channelUrls: string[] = []
  for (let i = 0; i < CHANNELS_NUMBER; i++) {
    let url = baseUrl()
    if (random.nextInt(10) > 0) url = `${url}&channel_id=${reversedChannelId(i)}`
    channelNames.push(`channel-${i}`)
    channelUrls.push(url)
  }
  tables = { seedHash, text, letters, hotUrls, channelNames, channelUrls }
  tablesBySeed.set(seed, tables)
  return tables
}

/**
 * Generates event number `position` of the stream for a config, in any order: the event is a pure
 * function of (config, position). Event numbers start at 0; within each out-of-order group the
 * reference's permutation decides which event id (and timestamp) a position gets.
 */
export class NexmarkGenerator {
  readonly config: NexmarkConfig
  private readonly tables: SeedTables
  private readonly random = new Random()
  private readonly totalProportion: number
  private readonly interEventDelayUs: number
  /** Events between an auction and the auction `numInFlightAuctions` later. */
  private readonly eventsForInFlightAuctions: number

  constructor(config: NexmarkConfig = DEFAULT_NEXMARK_CONFIG) {
    this.config = config
    this.tables = seedTables(config.seed)
    this.totalProportion = config.personProportion + config.auctionProportion + config.bidProportion
    this.interEventDelayUs = 1_000_000 / config.eventsPerSecond
    this.eventsForInFlightAuctions = Math.floor((config.numInFlightAuctions * this.totalProportion) / config.auctionProportion)
  }

  /** The event number (and so id) at a position of the stream: positions are shuffled within out-of-order groups. */
  eventNumberAt(position: number): number {
    const n = this.config.outOfOrderGroupSize
    if (n === 1) return position
    return Math.floor(position / n) * n + ((position * 953) % n)
  }

  /** Event time of an event number: the base time plus the inter-event delay per event, in whole milliseconds. */
  timestampOf(eventNumber: number): number {
    return this.config.baseTime + Math.floor(Math.floor(eventNumber * this.interEventDelayUs) / 1000)
  }

  /** Event time of the event at a position. */
  timestampAt(position: number): number {
    return this.timestampOf(this.eventNumberAt(position))
  }

  /**
   * The largest out-of-orderness of the stream in milliseconds: an event is never older than this
   * behind the newest one before it. 0 for in-order streams.
   */
  maxOutOfOrdernessMs(): number {
    const n = this.config.outOfOrderGroupSize
    return n === 1 ? 0 : this.timestampOf(n) - this.timestampOf(0) + 1
  }

  /** The event at a position of the stream. */
  event(position: number): NexmarkEvent {
    const eventNumber = this.eventNumberAt(position)
    const id = eventNumber
    const timestamp = this.timestampOf(eventNumber)
    this.random.reseed(this.tables.seedHash, id)
    const rem = id % this.totalProportion
    const c = this.config
    if (rem < c.personProportion) return this.person(id, timestamp)
    if (rem < c.personProportion + c.auctionProportion) return this.auction(eventNumber, id, timestamp)
    return this.bid(id, timestamp)
  }

  /** The last person id (base 0) at an event id: the current one if the event is a person. */
  lastBase0PersonId(eventId: number): number {
    const c = this.config
    const epoch = Math.floor(eventId / this.totalProportion)
    let offset = eventId % this.totalProportion
    if (offset >= c.personProportion) offset = c.personProportion - 1
    return epoch * c.personProportion + offset
  }

  /** The last auction id (base 0) at an event id: the current one if the event is an auction. */
  lastBase0AuctionId(eventId: number): number {
    const c = this.config
    let epoch = Math.floor(eventId / this.totalProportion)
    let offset = eventId % this.totalProportion
    if (offset < c.personProportion) {
      epoch--
      offset = c.auctionProportion - 1
    } else if (offset >= c.personProportion + c.auctionProportion) {
      offset = c.auctionProportion - 1
    } else {
      offset -= c.personProportion
    }
    return epoch * c.auctionProportion + offset
  }

  /** One of the active people, or one of the next few to register. */
  private nextBase0PersonId(eventId: number): number {
    const numPeople = this.lastBase0PersonId(eventId) + 1
    const activePeople = Math.min(numPeople, this.config.numActivePeople)
    return numPeople - activePeople + this.random.nextLong(activePeople + PERSON_ID_LEAD)
  }

  /** One of the auctions likely in flight, or one of the next few to open. */
  private nextBase0AuctionId(eventId: number): number {
    const maxAuction = this.lastBase0AuctionId(eventId)
    const minAuction = Math.max(maxAuction - this.config.numInFlightAuctions, 0)
    return minAuction + this.random.nextLong(maxAuction - minAuction + 1 + AUCTION_ID_LEAD)
  }

  /** Prices spread over six orders of magnitude, in cents: 10^(6u) dollars, u uniform in [0, 1). */
  private nextPrice(): number {
    // exp(x ln 10) rather than pow(10, x): the same value to rounding, and faster in V8.
    return Math.round(Math.exp(this.random.nextDouble() * LN10_TIMES_6) * 100)
  }

  /** Random text of 3 to `maxLength - 1` characters, trimmed. */
  private nextString(maxLength: number): string {
    const length = MIN_STRING_LENGTH + this.random.nextInt(maxLength - MIN_STRING_LENGTH)
    const offset = this.random.nextInt(POOL_LENGTH - length)
    return this.tables.text.substring(offset, offset + length).trim()
  }

  /** Padding that brings a record of `currentSize` bytes to the average size, give or take 20%. */
  private nextExtra(currentSize: number, averageSize: number): string {
    if (currentSize > averageSize) return ''
    const wanted = averageSize - currentSize
    const delta = Math.round(wanted * 0.2)
    const size = wanted - delta + (delta === 0 ? 0 : this.random.nextInt(2 * delta))
    if (size >= POOL_LENGTH / 2) return randomLetters(this.random, size)
    const offset = this.random.nextInt(POOL_LENGTH - size)
    return this.tables.letters.substring(offset, offset + size)
  }

  private person(id: number, timestamp: number): Person {
    const r = this.random
    const name = `${FIRST_NAMES[r.nextInt(FIRST_NAMES.length)]} ${LAST_NAMES[r.nextInt(LAST_NAMES.length)]}`
    const email = `${this.nextString(7)}@${this.nextString(5)}.com`
    const creditCard = `${CREDIT_CARD_GROUPS[r.nextInt(10_000)]} ${CREDIT_CARD_GROUPS[r.nextInt(10_000)]} ${CREDIT_CARD_GROUPS[r.nextInt(10_000)]} ${CREDIT_CARD_GROUPS[r.nextInt(10_000)]}`
    const city = US_CITIES[r.nextInt(US_CITIES.length)]
    const state = US_STATES[r.nextInt(US_STATES.length)]
    const size = 8 + name.length + email.length + creditCard.length + city.length + state.length
    const extra = this.nextExtra(size, this.config.avgPersonByteSize)
    return new Person(this.lastBase0PersonId(id) + FIRST_PERSON_ID, name, email, creditCard, city, state, timestamp, extra)
  }

  private auction(eventNumber: number, id: number, timestamp: number): Auction {
    const r = this.random
    const c = this.config
    const auctionId = this.lastBase0AuctionId(id) + FIRST_AUCTION_ID
    const seller =
      (r.nextInt(c.hotSellersRatio) > 0 ? Math.floor(this.lastBase0PersonId(id) / HOT_BATCH) * HOT_BATCH : this.nextBase0PersonId(id)) + FIRST_PERSON_ID
    const category = FIRST_CATEGORY_ID + r.nextInt(NUM_CATEGORIES)
    const initialBid = this.nextPrice()
    // Auctions last on average until the one numInFlightAuctions later is opened.
    const horizonMs = this.timestampOf(eventNumber + this.eventsForInFlightAuctions) - timestamp
    const expires = timestamp + 1 + r.nextLong(Math.max(horizonMs * 2, 1))
    const itemName = this.nextString(20)
    const description = this.nextString(100)
    const reserve = initialBid + this.nextPrice()
    const size = 8 + itemName.length + description.length + 8 + 8 + 8 + 8 + 8
    const extra = this.nextExtra(size, c.avgAuctionByteSize)
    return new Auction(auctionId, itemName, description, initialBid, reserve, timestamp, expires, seller, category, extra)
  }

  private bid(id: number, timestamp: number): Bid {
    const r = this.random
    const c = this.config
    const auction =
      (r.nextInt(c.hotAuctionRatio) > 0 ? Math.floor(this.lastBase0AuctionId(id) / HOT_BATCH) * HOT_BATCH : this.nextBase0AuctionId(id)) + FIRST_AUCTION_ID
    // The second person of a block, so hot bidders and hot sellers differ.
    const bidder =
      (r.nextInt(c.hotBiddersRatio) > 0 ? Math.floor(this.lastBase0PersonId(id) / HOT_BATCH) * HOT_BATCH + 1 : this.nextBase0PersonId(id)) + FIRST_PERSON_ID
    const price = this.nextPrice()
    let channel: string
    let url: string
    if (r.nextInt(HOT_CHANNELS_RATIO) > 0) {
      const i = r.nextInt(HOT_CHANNELS.length)
      channel = HOT_CHANNELS[i]
      url = this.tables.hotUrls[i]
    } else {
      const i = r.nextInt(CHANNELS_NUMBER)
      channel = this.tables.channelNames[i]
      url = this.tables.channelUrls[i]
    }
    const extra = this.nextExtra(8 + 8 + 8 + 8, c.avgBidByteSize)
    return new Bid(auction, bidder, price, channel, url, timestamp, extra)
  }
}

const generators = new WeakMap<NexmarkConfig, NexmarkGenerator>()

/** The event at `position` of the stream of `config`, as a plain function (for baselines and tests). */
export function nexmarkEvent(config: NexmarkConfig, position: number): NexmarkEvent {
  let generator = generators.get(config)
  if (!generator) generators.set(config, (generator = new NexmarkGenerator(config)))
  return generator.event(position)
}

/** The events at positions `from` (inclusive) to `to` (exclusive), in order. */
export function nexmarkEvents(config: NexmarkConfig, from: number, to: number): NexmarkEvent[] {
  const generator = new NexmarkGenerator(config)
  const out: NexmarkEvent[] = []
  for (let p = from; p < to; p++) out.push(generator.event(p))
  return out
}
