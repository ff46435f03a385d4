import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RULES, generatePurchases, spendingAlerts, type Alert } from '../../examples/spending-alerts.ts'
import { StreamEnvironment, collectSink } from '../../src/index.ts'

/** Which (user, rule) pairs a plain loop says must alert: the final totals decide, order does not. */
function expectedAlerts(): string[] {
  const totals = new Map<string, number>()
  for (const p of generatePurchases(5000)) totals.set(`${p.user}/${p.category}`, (totals.get(`${p.user}/${p.category}`) ?? 0) + p.amount)
  const out: string[] = []
  for (const [key, total] of totals) {
    const [user, category] = key.split('/')
    for (const rule of RULES) if (rule.category === category && total >= rule.limit) out.push(`${user}:${rule.id}`)
  }
  return out.sort()
}

for (const parallelism of [1, 3]) {
  test(`broadcast rules over keyed MapState raise each alert exactly once (parallelism ${parallelism})`, async () => {
    const env = StreamEnvironment.create({ parallelism })
    const alerts: Alert[] = []
    spendingAlerts(env.fromCollection(generatePurchases(5000)), env.fromCollection(RULES)).sinkTo(collectSink(alerts))
    await env.execute()
    const got = alerts.map((a) => `${a.user}:${a.rule}`).sort()
    const expected = expectedAlerts()
    assert.ok(expected.length > 5, `the data should trigger alerts, got ${expected.length}`)
    assert.deepEqual(got, expected)
  })
}
