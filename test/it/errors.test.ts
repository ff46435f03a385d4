import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidKeyError, StreamEnvironment, UserFunctionError, collectSink, WeirError } from '../../src/index.ts'

async function runExpectingFailure(build: (env: StreamEnvironment) => void): Promise<Error> {
  const env = StreamEnvironment.create({ parallelism: 2 })
  build(env)
  try {
    await env.execute('failing')
  } catch (error) {
    return error as Error
  }
  assert.fail('the job should have failed')
}

const badKeys: [string, (n: number) => unknown, RegExp][] = [
  ['a function', () => () => 1, /is a function/],
  ['a symbol', () => Symbol('k'), /is a symbol/],
  ['a cyclic object', (n) => {
    const o: Record<string, unknown> = { n }
    o.self = o
    return o
  }, /key\.self is cyclic/],
  ['undefined', () => undefined, /is undefined/],
  ['a class instance', () => new Date(0), /Date/],
]

for (const [what, selector, reason] of badKeys) {
  test(`a key selector returning ${what} fails the job with an error naming the keyed operator`, async () => {
    const error = await runExpectingFailure((env) => {
      env
        .fromSequence(1, 100)
        .keyBy(selector)
        .reduce((a, b) => a + b, 'sum-per-key')
        .sinkTo(collectSink([]))
    })
    assert.ok(error instanceof InvalidKeyError, `got ${String(error)}`)
    assert.match(error.message, /'sum-per-key'/)
    assert.match(error.message, reason)
    assert.match(error.message, /record \d+/)
  })
}

test('an exception in user code names the operator, the subtask and the record', async () => {
  const error = await runExpectingFailure((env) => {
    env
      .fromSequence(1, 1000)
      .map((n) => ({ id: n, label: `item-${n}` }), 'to-item')
      .map((item) => {
        if (item.id === 777) throw new RangeError('no sevens')
        return item
      }, 'picky')
      .sinkTo(collectSink([]))
  })
  assert.ok(error instanceof UserFunctionError, `got ${String(error)}`)
  assert.equal(error.operator, 'picky')
  assert.match(error.message, /Operator 'picky' \(subtask \d\) failed while processing record \{"id":777,"label":"item-777"\}: RangeError: no sevens/)
  assert.ok(error.cause instanceof RangeError)
})

test('an exception in the head operator of a task after a shuffle is reported the same way', async () => {
  const error = await runExpectingFailure((env) => {
    env
      .fromSequence(1, 500)
      .keyBy((n) => n % 5)
      .map((n) => {
        if (n === 321) throw new Error('boom')
        return n
      }, 'after-shuffle')
      .sinkTo(collectSink([]))
  })
  assert.ok(error instanceof UserFunctionError)
  assert.match(error.message, /Operator 'after-shuffle' \(subtask \d\) failed while processing record 321: Error: boom/)
})

test('keyed state on a non-keyed stream is a clear error', async () => {
  const { ValueStateDescriptor } = await import('../../src/index.ts')
  const error = await runExpectingFailure((env) => {
    env
      .fromSequence(1, 10)
      .map(
        {
          open(ctx) {
            ctx.getState(new ValueStateDescriptor<number>('x'))
          },
          map: (n: number) => n,
        },
        'not-keyed',
      )
      .sinkTo(collectSink([]))
  })
  assert.ok(error instanceof WeirError)
  assert.match(error.message, /'not-keyed' is not on a keyed stream/)
})
