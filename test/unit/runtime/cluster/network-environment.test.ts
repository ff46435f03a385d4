import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { NetworkEnvironment } from '../../../../src/runtime/cluster/network.ts'
import { RecordBatch, type ChannelItem } from '../../../../src/runtime/io/stream-element.ts'
import type { InputChannel } from '../../../../src/runtime/io/channel.ts'
import { NO_TIMESTAMP } from '../../../../src/time/time.ts'

const environments: NetworkEnvironment[] = []
after(async () => {
  for (const env of environments) await env.close()
})

async function start(id: string): Promise<{ env: NetworkEnvironment; port: number }> {
  const env = new NetworkEnvironment('127.0.0.1')
  environments.push(env)
  const port = await env.start()
  env.setIdentity(id)
  return { env, port }
}

function batch(n: number): RecordBatch {
  return new RecordBatch([n], [NO_TIMESTAMP])
}

async function pollUntil(channel: InputChannel, count: number, timeoutMs = 5000): Promise<ChannelItem[]> {
  const items: ChannelItem[] = []
  const deadline = Date.now() + timeoutMs
  while (items.length < count) {
    const item = channel.poll()
    if (item) items.push(item)
    else if (Date.now() > deadline) throw new Error(`got ${items.length} of ${count} items`)
    else await new Promise((r) => setImmediate(r))
  }
  return items
}

describe('network environment', () => {
  it('multiplexes channels over one connection; a full channel holds back no other', async () => {
    const a = await start('tm-1')
    const b = await start('tm-2')
    const addrA = { host: '127.0.0.1', port: a.port }
    const addrB = { host: '127.0.0.1', port: b.port }
    // Two channels a -> b (one never read) and one b -> a, all in stream 1.
    const blockedOut = a.env.createOutput('tm-2', addrB, 1, 0, 2, 'blocked')
    const freeOut = a.env.createOutput('tm-2', addrB, 1, 1, 2, 'free')
    const backOut = b.env.createOutput('tm-1', addrA, 1, 2, 2, 'back')
    const blockedIn = b.env.createInput('tm-1', addrA, 1, 0, 2, 'blocked')
    const freeIn = b.env.createInput('tm-1', addrA, 1, 1, 2, 'free')
    const backIn = a.env.createInput('tm-2', addrB, 1, 2, 2, 'back')
    for (let n = 0; n < 4; n++) blockedOut.push(batch(n))
    assert.equal(blockedOut.canAcceptBatch(), false)
    // 200 batches through a channel of capacity 2 while the other channel stays full.
    let sent = 0
    const received: number[] = []
    while (received.length < 200) {
      while (sent < 200 && freeOut.canAcceptBatch()) freeOut.push(batch(sent++))
      const item = freeIn.poll()
      if (item instanceof RecordBatch) received.push(item.values[0] as number)
      else await new Promise((r) => setImmediate(r))
    }
    assert.deepEqual(received, Array.from({ length: 200 }, (_, i) => i))
    assert.ok(freeIn.maxQueuedRecords <= 2 && freeOut.maxQueuedRecords <= 2)
    assert.equal(blockedIn.queuedRecords, 2)
    assert.equal(blockedOut.queuedRecords, 2)
    backOut.push(batch(7))
    assert.deepEqual((await pollUntil(backIn, 1)).map((i) => (i as RecordBatch).values[0]), [7])
    assert.deepEqual((await pollUntil(blockedIn, 4)).map((i) => (i as RecordBatch).values[0]), [0, 1, 2, 3])
  })

  it('reports the attempts of a broken connection', async () => {
    const a = await start('tm-3')
    const b = await start('tm-4')
    const lost = new Promise<{ peer: string; streams: number[] }>((resolve) => {
      b.env.onPeerLost = (peer, streams) => resolve({ peer, streams: [...streams] })
    })
    const out = a.env.createOutput('tm-4', { host: '127.0.0.1', port: b.port }, 5, 0, 2, 'x')
    const input = b.env.createInput('tm-3', { host: '127.0.0.1', port: a.port }, 5, 0, 2, 'x')
    out.push(batch(1))
    await pollUntil(input, 1)
    await a.env.close()
    assert.deepEqual(await lost, { peer: 'tm-3', streams: [5] })
  })
})
