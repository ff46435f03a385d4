import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { HeapKeyedStateBackend } from '../../../src/state/heap/heap-keyed-state-backend.ts'
import { KeyGroupRange } from '../../../src/state/key-groups.ts'
import { HeapTimeServiceManager } from '../../../src/time/heap-timer-service.ts'
import { ManualProcessingTimeService } from '../../../src/time/manual-processing-time-service.ts'
import type { Timer, Triggerable } from '../../../src/time/timer-service.ts'
import { TimeWindow, timeWindowSerializer } from '../../../src/time/windows/time-window.ts'
import { voidNamespaceSerializer } from '../../../src/state/void-namespace-serializer.ts'
import { VOID_NAMESPACE } from '../../../src/state/keyed-state-backend.ts'

const MAX = 128

function setup(range = new KeyGroupRange(0, MAX - 1)): { backend: HeapKeyedStateBackend; clock: ManualProcessingTimeService; manager: HeapTimeServiceManager } {
  const backend = new HeapKeyedStateBackend({ maxParallelism: MAX, keyGroupRange: range })
  const clock = new ManualProcessingTimeService()
  return { backend, clock, manager: new HeapTimeServiceManager(backend, clock, range, MAX) }
}

/** Records each firing as `domain key namespace @time`, with the key the backend has current. */
function recorder<N>(backend: HeapKeyedStateBackend, show: (ns: N) => string): Triggerable<N> & { fired: string[] } {
  const fired: string[] = []
  const record = (domain: string, t: Timer<N>): void => {
    assert.equal(backend.getCurrentKey(), t.key)
    fired.push(`${domain} ${typeof t.key}:${String(t.key)} ${show(t.namespace)} @${t.timestamp}`)
  }
  return { fired, onEventTime: (t) => record('event', t), onProcessingTime: (t) => record('processing', t) }
}

describe('HeapTimeServiceManager', () => {
  it('accepts window objects as namespaces, deduplicating and deleting equal windows', () => {
    const { backend, manager } = setup()
    const target = recorder<TimeWindow>(backend, (w) => `[${w.start},${w.end})`)
    const timers = manager.getTimerService('window-timers', timeWindowSerializer, target)
    backend.setCurrentKey('a')
    timers.registerEventTimeTimer(new TimeWindow(0, 10), 9)
    timers.registerEventTimeTimer(new TimeWindow(0, 10), 9)
    timers.registerEventTimeTimer(new TimeWindow(10, 20), 19)
    timers.registerEventTimeTimer(new TimeWindow(20, 30), 29)
    timers.deleteEventTimeTimer(new TimeWindow(20, 30), 29)
    assert.equal(manager.numTimers(), 2)
    manager.advanceWatermark(100)
    assert.deepEqual(target.fired, ['event string:a [0,10) @9', 'event string:a [10,20) @19'])
  })

  it('keeps timers of keys that only differ in type apart', () => {
    const { backend, manager } = setup()
    const target = recorder<typeof VOID_NAMESPACE>(backend, () => '-')
    const timers = manager.getTimerService('user-timers', voidNamespaceSerializer, target)
    for (const key of [1, '1', 1n, true, 'true', [1], '[1]']) {
      backend.setCurrentKey(key)
      timers.registerEventTimeTimer(VOID_NAMESPACE, 5)
    }
    assert.equal(manager.numTimers(), 7)
    manager.advanceWatermark(5)
    assert.equal(target.fired.length, 7)
  })

  it('moves window timers to the subtask that owns their key on restore', () => {
    const { backend, manager } = setup()
    const noop: Triggerable<TimeWindow> = { onEventTime: () => {}, onProcessingTime: () => {} }
    const timers = manager.getTimerService('window-timers', timeWindowSerializer, noop)
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
    for (const key of keys) {
      backend.setCurrentKey(key)
      timers.registerEventTimeTimer(new TimeWindow(0, 10), 9)
      timers.registerProcessingTimeTimer(new TimeWindow(0, 10), 50)
    }
    const snapshot = manager.snapshot()
    const halves = [new KeyGroupRange(0, 63), new KeyGroupRange(64, 127)].map((range) => {
      const s = setup(range)
      s.manager.restore([snapshot])
      const target = recorder<TimeWindow>(s.backend, (w) => `[${w.start},${w.end})`)
      s.manager.getTimerService('window-timers', timeWindowSerializer, target)
      s.manager.advanceWatermark(9)
      s.clock.setProcessingTime(50)
      return target.fired
    })
    assert.equal(halves[0].length + halves[1].length, 40)
    assert.ok(halves.every((h) => h.length > 0))
  })
})
