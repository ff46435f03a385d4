import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { StreamEnvironment } from '../../../../src/index.ts'
import { bundleHash, bundleJob, loadBundle, storeBundle } from '../../../../src/runtime/cluster/bundle.ts'

const JOB = fileURLToPath(new URL('../../../it/cluster/windowed-count-cluster-job.ts', import.meta.url))

describe('job bundles', () => {
  it('keep the engine outside: its imports become weir and weir/src/...', async () => {
    const text = new TextDecoder().decode(await bundleJob(JOB))
    assert.match(text, /from "weir"/)
    assert.match(text, /from "weir\/src\/connectors\/sinks\/exactly-once-file-sink\.ts"/)
    assert.doesNotMatch(text, /class StreamEnvironment/)
    // The job's own helpers (outside src/) are bundled in.
    assert.match(text, /function buildWindowedCountJob/)
  })

  it('load in this process and build the same graph', async () => {
    const bytes = await bundleJob(JOB)
    const hash = await storeBundle(bytes)
    assert.equal(hash, bundleHash(bytes))
    const definition = await loadBundle(hash)
    const env = StreamEnvironment.create({ parallelism: 2 })
    await definition.build(env, ['100', '/tmp/weir-bundle-test-out', '/tmp/weir-bundle-test-chk', '100', '0'])
    const graph = env.getJobGraph('bundled')
    assert.deepEqual(graph.vertices.map((v) => v.name), ['events -> inject', 'window-count -> sink'])
    assert.deepEqual(env.config.checkpointing?.storage, { directory: '/tmp/weir-bundle-test-chk' })
    assert.equal(env.config.restartStrategy.kind, 'fixed-delay')
  })
})
