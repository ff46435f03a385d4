import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  createRestartStrategy,
  exponentialDelay,
  failureRate,
  fixedDelay,
  noRestart,
  RestartStrategies,
  seededRandom,
  type RestartDecision,
  type RestartStrategy,
} from '../../../src/runtime/restart-strategy.ts'
import { WeirError } from '../../../src/errors.ts'

/** Feeds failures at the given times and collects the decisions. */
function failAt(strategy: RestartStrategy, times: number[]): RestartDecision[] {
  return times.map((t) => strategy.onFailure(t))
}

const restart = (delayMs: number): RestartDecision => ({ restart: true, delayMs })
const stop: RestartDecision = { restart: false, delayMs: 0 }

describe('restart strategies', () => {
  describe('none', () => {
    it('never restarts', () => {
      const strategy = noRestart()
      assert.deepEqual(failAt(strategy, [0, 10]), [stop, stop])
      assert.equal(strategy.describe(), 'no restart (2 failures)')
      assert.equal(RestartStrategies.none().describe(), 'no restart')
    })
  })

  describe('fixed delay', () => {
    it('restarts `attempts` times with the delay, then gives up', () => {
      const strategy = fixedDelay(3, 1000)
      assert.equal(strategy.describe(), 'fixed delay (1000 ms): 0 of 3 attempts used')
      assert.deepEqual(failAt(strategy, [0, 1]), [restart(1000), restart(1000)])
      assert.equal(strategy.describe(), 'fixed delay (1000 ms): 2 of 3 attempts used')
      assert.deepEqual(failAt(strategy, [2, 3, 4]), [restart(1000), stop, stop])
      assert.equal(strategy.describe(), 'fixed delay (1000 ms): 3 of 3 attempts used, no attempts left')
    })

    it('with 0 attempts behaves as none', () => {
      assert.deepEqual(fixedDelay(0, 5).onFailure(0), stop)
    })
  })

  describe('exponential delay', () => {
    it('multiplies the delay per failure up to the maximum', () => {
      const strategy = exponentialDelay({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0, resetAfterMs: 1_000_000 })
      const decisions = failAt(strategy, [0, 200, 500, 1000, 2000, 3500, 5000])
      assert.deepEqual(
        decisions.map((d) => d.delayMs),
        [100, 200, 400, 800, 1000, 1000, 1000],
      )
      assert.ok(decisions.every((d) => d.restart))
      assert.match(strategy.describe(), /last delay 1000 ms, 7 restarts since the last reset/)
    })

    it('starts again from the initial delay after running stably for resetAfterMs since the restart', () => {
      const strategy = exponentialDelay({ initialMs: 100, maxMs: 10_000, multiplier: 3, jitter: 0, resetAfterMs: 5000 })
      assert.deepEqual(failAt(strategy, [0, 1000]), [restart(100), restart(300)])
      // Restarted at 1300; 4999 ms of running is not enough...
      assert.deepEqual(strategy.onFailure(1300 + 4999), restart(900))
      // ...restarted at 7199; 5000 ms is.
      assert.deepEqual(strategy.onFailure(6299 + 900 + 5000), restart(100))
    })

    it('spreads delays by the jitter, deterministically for a seeded random source', () => {
      const options = { initialMs: 1000, maxMs: 1000, multiplier: 1, jitter: 0.5, resetAfterMs: 1e9 }
      const times = Array.from({ length: 200 }, (_, i) => i)
      const delays = failAt(exponentialDelay(options, seededRandom(42)), times).map((d) => d.delayMs)
      assert.deepEqual(failAt(exponentialDelay(options, seededRandom(42)), times).map((d) => d.delayMs), delays)
      assert.notDeepEqual(failAt(exponentialDelay(options, seededRandom(43)), times).map((d) => d.delayMs), delays)
      assert.ok(delays.every((d) => d >= 500 && d <= 1500), 'within ±50%')
      assert.ok(Math.min(...delays) < 700 && Math.max(...delays) > 1300, 'spread over the range')
    })

    it('uses the injected random source for jitter', () => {
      const lowest = exponentialDelay({ initialMs: 1000, jitter: 0.2 }, () => 0)
      const highest = exponentialDelay({ initialMs: 1000, jitter: 0.2 }, () => 0.999999)
      assert.equal(lowest.onFailure(0).delayMs, 800)
      assert.equal(highest.onFailure(0).delayMs, 1200)
    })

    it('gives up after maxAttempts restarts without a reset', () => {
      const strategy = exponentialDelay({ initialMs: 10, multiplier: 2, jitter: 0, maxAttempts: 2, resetAfterMs: 1000 })
      assert.deepEqual(failAt(strategy, [0, 20, 60]), [restart(10), restart(20), stop])
      assert.match(strategy.describe(), /2 of 2 restarts since the last reset, no attempts left/)
    })

    it('has Flink-like defaults', () => {
      const strategy = exponentialDelay({}, () => 0.5)
      assert.deepEqual(failAt(strategy, [0, 1]), [restart(1000), restart(1500)])
      assert.match(strategy.describe(), /1000 ms to 60000 ms, x1.5, jitter 0.1, reset after 3600000 ms/)
    })
  })

  describe('failure rate', () => {
    it('restarts while no more than maxFailures fall in the interval', () => {
      const strategy = failureRate({ maxFailures: 3, intervalMs: 1000, delayMs: 50 })
      assert.deepEqual(failAt(strategy, [0, 100, 200]), [restart(50), restart(50), restart(50)])
      assert.equal(strategy.describe(300), 'failure rate (at most 3 failures per 1000 ms, delay 50 ms): 3 failures in the window')
      // The failure at 0 has left the window by 1000; 100, 200 and 1000 are three.
      assert.deepEqual(strategy.onFailure(1000), restart(50))
      // 100, 200, 1000 and 1050: four within 1000 ms.
      assert.deepEqual(strategy.onFailure(1050), stop)
      assert.match(strategy.describe(1050), /rate exceeded/)
    })

    it('keeps restarting a job that fails slowly', () => {
      const strategy = failureRate({ maxFailures: 1, intervalMs: 1000, delayMs: 0 })
      assert.ok(failAt(strategy, [0, 1000, 2000, 3000, 4000]).every((d) => d.restart))
      assert.deepEqual(strategy.onFailure(4500), stop)
    })
  })

  describe('configuration', () => {
    it('creates each strategy from plain data', () => {
      assert.equal(createRestartStrategy({ type: 'none' }).kind, 'none')
      assert.equal(createRestartStrategy({ type: 'fixed-delay', attempts: 2, delayMs: 10 }).describe(), 'fixed delay (10 ms): 0 of 2 attempts used')
      const exp = createRestartStrategy({ type: 'exponential-delay', initialMs: 5, jitter: 0 })
      assert.deepEqual(exp.onFailure(0), restart(5))
      assert.equal(createRestartStrategy({ type: 'failure-rate', maxFailures: 1, intervalMs: 10, delayMs: 1 }).kind, 'failure-rate')
    })

    it('refuses invalid settings with a clear error', () => {
      const invalid = (fn: () => unknown, text: string): void => {
        assert.throws(fn, (error: unknown) => error instanceof WeirError && error.code === 'INVALID_RESTART_STRATEGY' && error.message.includes(text))
      }
      invalid(() => fixedDelay(-1, 10), 'attempts')
      invalid(() => fixedDelay(1.5, 10), 'attempts')
      invalid(() => fixedDelay(1, -10), 'delayMs')
      invalid(() => exponentialDelay({ initialMs: 100, maxMs: 10 }), 'maxMs')
      invalid(() => exponentialDelay({ multiplier: 0.5 }), 'multiplier')
      invalid(() => exponentialDelay({ jitter: 1.5 }), 'jitter')
      invalid(() => failureRate({ maxFailures: 0, intervalMs: 10, delayMs: 0 }), 'maxFailures')
      invalid(() => failureRate({ maxFailures: 1, intervalMs: 0, delayMs: 0 }), 'intervalMs')
      invalid(() => createRestartStrategy({ type: 'sometimes' } as unknown as Parameters<typeof createRestartStrategy>[0]), 'sometimes')
    })
  })
})
