/**
 * The three Nexmark event kinds. Field names follow the reference (`nexmark/nexmark`, Flink), with
 * times as epoch milliseconds. Each record carries a `kind` tag, so a stream of events is a plain
 * discriminated union and a query picks its kind with `e.kind === 'bid'`.
 */

/** A person registering to buy or sell. */
export class Person {
  readonly kind = 'person' as const
  constructor(
    readonly id: number,
    readonly name: string,
    readonly emailAddress: string,
    readonly creditCard: string,
    readonly city: string,
    readonly state: string,
    readonly dateTime: number,
    readonly extra: string,
  ) {}
}

/** An item put up for auction. */
export class Auction {
  readonly kind = 'auction' as const
  constructor(
    readonly id: number,
    readonly itemName: string,
    readonly description: string,
    readonly initialBid: number,
    readonly reserve: number,
    readonly dateTime: number,
    readonly expires: number,
    readonly seller: number,
    readonly category: number,
    readonly extra: string,
  ) {}
}

/** A bid on an auction. */
export class Bid {
  readonly kind = 'bid' as const
  constructor(
    readonly auction: number,
    readonly bidder: number,
    readonly price: number,
    readonly channel: string,
    readonly url: string,
    readonly dateTime: number,
    readonly extra: string,
  ) {}
}

/** One generated event. */
export type NexmarkEvent = Person | Auction | Bid
