import type { ErrorBody } from '../../src/web/api-types.ts'

/** The API answered with an error status; `message` joins what it said was wrong. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

async function parse<T>(response: Response): Promise<T> {
  const text = await response.text()
  const body: unknown = text === '' ? undefined : JSON.parse(text)
  if (!response.ok) {
    const errors = (body as Partial<ErrorBody> | undefined)?.errors
    throw new ApiRequestError(response.status, errors?.join('; ') ?? `${response.status} ${response.statusText}`)
  }
  return body as T
}

/** The dashboard is served by the API server, so paths are relative to where the page came from. */
function url(path: string): string {
  return new URL(path.replace(/^\//, ''), document.baseURI).toString()
}

/** GETs a JSON resource of the API. */
export async function getJson<T>(path: string): Promise<T> {
  return parse<T>(await fetch(url(path), { headers: { accept: 'application/json' } }))
}

/** Sends a JSON body to the API and reads the JSON answer. */
export async function sendJson<T>(method: 'POST' | 'PATCH', path: string, body: unknown = {}): Promise<T> {
  return parse<T>(await fetch(url(path), { method, headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) }))
}
