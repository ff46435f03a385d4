/** Entry of the child process that measures one query (see bench.ts), so queries do not share a heap or JIT state. */
import { loadStateBackend } from './backends.ts'
import { measureQuery, type MeasureSpec } from './measure.ts'

const spec = JSON.parse(process.argv[2] ?? '{}') as MeasureSpec
const send = (message: unknown): Promise<void> => new Promise((resolve) => (process.send ? process.send(message, undefined, {}, () => resolve()) : resolve()))
try {
  const backend = await loadStateBackend(spec.state)
  const figures = await measureQuery(spec, (phase, events, total) => void send({ type: 'progress', phase, events, total }), backend)
  await send({ type: 'result', figures })
} catch (error) {
  await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  process.exitCode = 1
}
process.disconnect?.()
