import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Types } from '../../../src/api/serialization/types.ts'
import { StateError, WeirError } from '../../../src/errors.ts'
import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from '../../../src/state/descriptors.ts'
import { HeapKeyedStateBackend } from '../../../src/state/heap/index.ts'
import { KeyGroupRange } from '../../../src/state/key-groups.ts'
import { VOID_NAMESPACE } from '../../../src/state/keyed-state-backend.ts'
import { heapFactory } from './heap-factory.ts'
import { backendTests, windowSerializer } from './keyed-backend-suite.ts'

function fullRange(): HeapKeyedStateBackend {
  return new HeapKeyedStateBackend({ maxParallelism: 128, keyGroupRange: new KeyGroupRange(0, 127) })
}

describe('heap keyed state backend', () => {
  backendTests(heapFactory)

  describe('heap specifics', () => {
    it('keeps values as live objects: no copy on read or write', () => {
      const backend = fullRange()
      const value = backend.getValueState(new ValueStateDescriptor<{ n: number }>('v'))
      const map = backend.getMapState(new MapStateDescriptor<string, { n: number }>('m'))
      backend.setCurrentKey('k')
      const object = { n: 1 }
      value.update(object)
      map.put('a', object)
      assert.equal(value.value(), object)
      assert.equal(map.get('a'), object)
    })

    it('refuses an invalid max parallelism or key-group range', () => {
      const code = (c: string) => (error: unknown) => error instanceof WeirError && error.code === c
      assert.throws(() => new HeapKeyedStateBackend({ maxParallelism: 0, keyGroupRange: new KeyGroupRange(0, 0) }), code('INVALID_PARALLELISM'))
      assert.throws(() => new HeapKeyedStateBackend({ maxParallelism: 128, keyGroupRange: new KeyGroupRange(0, 128) }), code('INVALID_KEY_GROUP_RANGE'))
      assert.throws(() => new HeapKeyedStateBackend({ maxParallelism: 128, keyGroupRange: new KeyGroupRange(5, 4) }), code('INVALID_KEY_GROUP_RANGE'))
    })

    it('names the operator and the range when a key is outside it', () => {
      const backend = new HeapKeyedStateBackend({ maxParallelism: 128, keyGroupRange: new KeyGroupRange(0, 0), operatorName: 'counter' })
      assert.throws(
        () => {
          for (let i = 0; i < 10; i++) backend.setCurrentKey(`key-${i}`)
        },
        (error: unknown) => error instanceof WeirError && error.code === 'KEY_GROUP_OUT_OF_RANGE' && /'counter'/.test(error.message) && error.message.includes('[0, 0]'),
      )
    })

    it('recomputes the key group when the same object key was changed in between', () => {
      const backend = fullRange()
      const value = backend.getValueState(new ValueStateDescriptor<number>('v', Types.number))
      const key = { id: 1 }
      backend.setCurrentKey(key)
      value.update(1)
      key.id = 2
      backend.setCurrentKey(key)
      assert.equal(value.value(), undefined)
      backend.setCurrentKey({ id: 1 })
      assert.equal(value.value(), 1)
    })

    it('lists no keys of a state without namespaces in a window namespace', () => {
      const backend = fullRange()
      const value = backend.getValueState(new ValueStateDescriptor<number>('v'))
      backend.setCurrentKey('k')
      value.update(1)
      assert.deepEqual([...backend.getKeys('v', { start: 0, end: 10 })], [])
      assert.deepEqual([...backend.getKeys('v', VOID_NAMESPACE)], ['k'])
    })

    it('asks for the descriptor before listing keys of a restored windowed state', () => {
      const source = fullRange()
      const list = source.getListState(new ListStateDescriptor<number>('l', Types.number), windowSerializer)
      source.setCurrentKey('k')
      list.setCurrentNamespace({ start: 0, end: 10 })
      list.add(1)
      const backend = fullRange()
      backend.restore([source.snapshot()])
      assert.throws(() => [...backend.getKeys('l', { start: 0, end: 10 })], (error: unknown) => error instanceof StateError && error.message.includes("'l'"))
      backend.getListState(new ListStateDescriptor<number>('l', Types.number), windowSerializer)
      assert.deepEqual([...backend.getKeys('l', { start: 0, end: 10 })], ['k'])
    })

    it('refuses a second namespace serializer for the same state', () => {
      const backend = fullRange()
      backend.getListState(new ListStateDescriptor<number>('l'), windowSerializer)
      assert.doesNotThrow(() => backend.getListState(new ListStateDescriptor<number>('l')))
      assert.throws(() => backend.getListState(new ListStateDescriptor<number>('l'), Types.number), (error: unknown) => error instanceof StateError && error.message.includes("'l'"))
    })

    it('restores the current key after applyToAllKeys', () => {
      const backend = fullRange()
      const descriptor = new ValueStateDescriptor<number>('v', Types.number)
      const value = backend.getValueState(descriptor)
      for (const key of ['a', 'b', 'c']) {
        backend.setCurrentKey(key)
        value.update(1)
      }
      backend.setCurrentKey('b')
      const group = backend.getCurrentKeyGroup()
      backend.applyToAllKeys(VOID_NAMESPACE, descriptor, () => value.update(2))
      assert.equal(backend.getCurrentKey(), 'b')
      assert.equal(backend.getCurrentKeyGroup(), group)
    })
  })
})
