/**
 * Spending alerts: rules are broadcast to every subtask of a keyed stream of purchases. Each user's
 * spending per category is kept in MapState; rules live in BroadcastState. An alert is raised once
 * per (user, rule) when the user's spending in the rule's category reaches its limit, whether the
 * rule or the purchase arrives first.
 *
 *   weir run examples/spending-alerts.ts
 */
import {
  KeyedBroadcastProcessFunction,
  MapStateDescriptor,
  Types,
  defineJob,
  printSink,
  type Collector,
  type KeyedBroadcastContext,
  type MapState,
  type ReadOnlyBroadcastContext,
  type RuntimeContext,
  type StreamEnvironment,
  type DataStream,
} from '../src/index.ts'
import { seededRandom } from './word-count-input.ts'

/** A purchase by a user. */
export interface Purchase {
  user: string
  category: string
  amount: number
}

/** Alert when a user's total in `category` reaches `limit`. */
export interface Rule {
  id: string
  category: string
  limit: number
}

/** An alert raised by a rule for a user. */
export interface Alert {
  user: string
  rule: string
  total: number
}

/** The broadcast state holding the rules, by id. */
export const rulesDescriptor = new MapStateDescriptor<string, Rule>('rules', Types.string)

/** Keeps spending per category (MapState) and the rules (BroadcastState); raises each alert once. */
export class SpendingAlerts extends KeyedBroadcastProcessFunction<string, Purchase, Rule, Alert> {
  private spent!: MapState<string, number>
  private alerted!: MapState<string, boolean>

  override open(ctx: RuntimeContext): void {
    this.spent = ctx.getMapState(new MapStateDescriptor<string, number>('spent', Types.string, Types.number))
    this.alerted = ctx.getMapState(new MapStateDescriptor<string, boolean>('alerted', Types.string, Types.boolean))
  }

  processElement(purchase: Purchase, ctx: ReadOnlyBroadcastContext<string>, out: Collector<Alert>): void {
    const total = (this.spent.get(purchase.category) ?? 0) + purchase.amount
    this.spent.put(purchase.category, total)
    for (const rule of ctx.getBroadcastState(rulesDescriptor).values()) this.check(purchase.user, rule, out)
  }

  processBroadcastElement(rule: Rule, ctx: KeyedBroadcastContext, out: Collector<Alert>): void {
    ctx.getBroadcastState(rulesDescriptor).put(rule.id, rule)
    // A new rule may already be met by users seen before it arrived.
    ctx.applyToKeyedState(new MapStateDescriptor<string, number>('spent', Types.string, Types.number), (user) => this.check(user as string, rule, out))
  }

  private check(user: string, rule: Rule, out: Collector<Alert>): void {
    const total = this.spent.get(rule.category) ?? 0
    if (total >= rule.limit && !this.alerted.contains(rule.id)) {
      this.alerted.put(rule.id, true)
      out.collect({ user, rule: rule.id, total })
    }
  }
}

/** Deterministic purchases of 50 users over 4 categories. */
export function generatePurchases(count: number, seed = 1): Purchase[] {
  const random = seededRandom(seed)
  const categories = ['food', 'travel', 'games', 'books']
  return Array.from({ length: count }, () => ({
    user: `user-${Math.floor(random() * 50)}`,
    category: categories[Math.floor(random() * categories.length)],
    amount: Math.floor(random() * 100) + 1,
  }))
}

/** The example's rules. */
export const RULES: Rule[] = [
  { id: 'big-food', category: 'food', limit: 2000 },
  { id: 'jet-setter', category: 'travel', limit: 2500 },
  { id: 'gamer', category: 'games', limit: 1500 },
]

/** Builds the alerting pipeline on two streams. */
export function spendingAlerts(purchases: DataStream<Purchase>, rules: DataStream<Rule>): DataStream<Alert> {
  return purchases
    .keyBy((p) => p.user)
    .connect(rules.broadcast(rulesDescriptor as MapStateDescriptor<unknown, unknown>))
    .process(new SpendingAlerts(), 'alerts')
    .uid('alerts')
}

export default defineJob((env: StreamEnvironment) => {
  const purchases = env.fromCollection(generatePurchases(5000), 'purchases')
  const rules = env.fromCollection(RULES, 'rules')
  spendingAlerts(purchases, rules).sinkTo(printSink<Alert>({ prefix: 'ALERT ' }), 'print').uid('print')
})
