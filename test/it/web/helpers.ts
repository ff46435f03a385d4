import assert from 'node:assert/strict'
import { StreamEnvironment, type LocalJob } from '../../../src/index.ts'
import { JobRegistry, startWebServer, type WebServer } from '../../../src/web/index.ts'
import liveClicks from '../../../examples/live-clicks.ts'

/**
 * Starts the live-clicks example in this process: endless, paced, checkpointing every second.
 * Small batches keep little work queued ahead of a barrier, so checkpoints stay quick even when the
 * job is back-pressured.
 */
export async function startLiveClicks(args: string[] = ['1000', '50']): Promise<LocalJob> {
  const env = StreamEnvironment.create({ batchSize: 64 })
  await liveClicks.build(env, args)
  return env.executeAsync('live-clicks', { log: () => {} })
}

/** A registry and a server on a free port. */
export async function serve(): Promise<{ registry: JobRegistry; server: WebServer; close: () => Promise<void> }> {
  const registry = new JobRegistry({ intervalMs: 100, windowMs: 2000 })
  const server = await startWebServer(registry, { port: 0 })
  return {
    registry,
    server,
    close: async () => {
      await server.close()
      registry.close()
    },
  }
}

/** An HTTP answer: status, parsed JSON body (or the text) and headers. */
export interface Answer<T = unknown> {
  status: number
  body: T
  text: string
  headers: Headers
}

/** Sends a request to the server and reads the answer. */
export async function call<T = unknown>(server: WebServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body)
    ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
  }
  const response = await fetch(`${server.url}${path}`, init)
  const text = await response.text()
  let parsed: unknown = text
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text)
  return { status: response.status, body: parsed as T, text, headers: response.headers }
}

/** Asserts an error answer: the status, and that the message names `mention`. */
export function assertError(answer: Answer, status: number, mention: string | RegExp): void {
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.text}`)
  const errors = (answer.body as { errors?: string[] }).errors
  assert.ok(Array.isArray(errors) && errors.length > 0, `an error body has errors: ${answer.text}`)
  const joined = errors.join('\n')
  if (typeof mention === 'string') assert.ok(joined.includes(mention), `'${joined}' should mention '${mention}'`)
  else assert.match(joined, mention)
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Cancels a job and waits for it to end. */
export async function stop(job: LocalJob): Promise<void> {
  job.cancel()
  await job.result.catch(() => {})
}
