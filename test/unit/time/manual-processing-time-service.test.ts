import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ManualProcessingTimeService } from '../../../src/time/manual-processing-time-service.ts'
import { WeirError } from '../../../src/errors.ts'

describe('ManualProcessingTimeService', () => {
  it('starts at the given time and only moves when told', () => {
    const clock = new ManualProcessingTimeService(5)
    assert.equal(clock.now(), 5)
    clock.advance(10)
    assert.equal(clock.now(), 15)
    clock.setProcessingTime(20)
    assert.equal(clock.now(), 20)
  })

  it('fires due callbacks in time order, ties in scheduling order, with their scheduled time', () => {
    const clock = new ManualProcessingTimeService()
    const fired: string[] = []
    clock.schedule(30, (t) => fired.push(`c@${t}`))
    clock.schedule(10, (t) => fired.push(`a@${t}`))
    clock.schedule(10, (t) => fired.push(`b@${t}`))
    clock.schedule(40, (t) => fired.push(`d@${t}`))
    clock.setProcessingTime(30)
    assert.deepEqual(fired, ['a@10', 'b@10', 'c@30'])
    assert.equal(clock.numPendingCallbacks(), 1)
    assert.equal(clock.nextScheduledTime(), 40)
  })

  it('shows the new time to callbacks, and fires what they schedule up to that time in the same call', () => {
    const clock = new ManualProcessingTimeService()
    const fired: string[] = []
    clock.schedule(10, () => {
      fired.push(`first now=${clock.now()}`)
      clock.schedule(15, (t) => fired.push(`nested@${t}`))
      clock.schedule(50, (t) => fired.push(`later@${t}`))
    })
    clock.setProcessingTime(20)
    assert.deepEqual(fired, ['first now=20', 'nested@15'])
    clock.setProcessingTime(50)
    assert.deepEqual(fired, ['first now=20', 'nested@15', 'later@50'])
  })

  it('keeps a callback scheduled in the past for the next time the clock is set', () => {
    const clock = new ManualProcessingTimeService(100)
    const fired: number[] = []
    clock.schedule(50, (t) => fired.push(t))
    assert.deepEqual(fired, [])
    clock.setProcessingTime(100)
    assert.deepEqual(fired, [50])
  })

  it('does not fire cancelled callbacks', () => {
    const clock = new ManualProcessingTimeService()
    const fired: number[] = []
    const handle = clock.schedule(10, (t) => fired.push(t))
    clock.schedule(20, (t) => fired.push(t))
    handle.cancel()
    handle.cancel()
    clock.setProcessingTime(30)
    assert.deepEqual(fired, [20])
  })

  it('refuses to go back in time', () => {
    const clock = new ManualProcessingTimeService(10)
    assert.throws(() => clock.setProcessingTime(9), (e: unknown) => e instanceof WeirError && /go back from 10 to 9/.test(e.message))
  })

  it('propagates a callback error and keeps the later callbacks', () => {
    const clock = new ManualProcessingTimeService()
    const fired: number[] = []
    const boom = new Error('boom')
    clock.schedule(10, () => {
      throw boom
    })
    clock.schedule(20, (t) => fired.push(t))
    assert.throws(() => clock.setProcessingTime(30), (e: unknown) => e === boom)
    assert.deepEqual(fired, [])
    clock.setProcessingTime(30)
    assert.deepEqual(fired, [20])
  })

  it('drops everything on shutdown', () => {
    const clock = new ManualProcessingTimeService()
    const fired: number[] = []
    clock.schedule(10, (t) => fired.push(t))
    clock.shutdown()
    clock.schedule(20, (t) => fired.push(t))
    clock.setProcessingTime(30)
    assert.deepEqual(fired, [])
    assert.equal(clock.numPendingCallbacks(), 0)
  })
})
