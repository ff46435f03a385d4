import { routes } from './routes.ts'
import { errorSchema, type JsonSchema } from './schemas.ts'

const TAGS = [
  { name: 'jobs', description: 'Jobs: list, details with the graph and live figures, cancellation, exceptions' },
  { name: 'vertices', description: 'Vertices (chains of operators): subtask figures, back pressure, watermarks' },
  { name: 'checkpoints', description: 'Checkpoint statistics and triggers' },
  { name: 'savepoints', description: 'Savepoint triggers' },
  { name: 'cluster', description: 'The runner as a whole' },
  { name: 'metrics', description: 'Prometheus metrics' },
]

/** fastify's `:name` path parameters are OpenAPI's `{name}`. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, '{$1}')
}

function parameters(where: 'path' | 'query', schema: JsonSchema | undefined): JsonSchema[] {
  if (!schema) return []
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>
  const required = new Set((schema.required ?? []) as string[])
  return Object.entries(properties).map(([name, s]) => {
    const { description, ...rest } = s
    return { name, in: where, required: where === 'path' || required.has(name), ...(description ? { description } : {}), schema: rest }
  })
}

const json = (schema: JsonSchema): JsonSchema => ({ content: { 'application/json': { schema } } })

/**
 * The OpenAPI 3.1 document of the REST API, built from the same route table and JSON schemas the
 * server validates and serializes with, so it cannot describe an API other than the one served.
 */
export function openApiDocument(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {}
  for (const r of routes) {
    const path = openApiPath(r.url)
    const responses: Record<string, JsonSchema> = { [r.status]: { description: r.status === 202 ? 'Accepted' : 'OK', ...json(r.response) } }
    for (const [code, description] of Object.entries(r.errors)) responses[code] = { description, ...json(errorSchema) }
    ;(paths[path] ??= {})[r.method.toLowerCase()] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      parameters: [...parameters('path', r.params), ...parameters('query', r.querystring)],
      ...(r.body ? { requestBody: { required: false, ...json(r.body) } } : {}),
      responses,
    }
  }
  paths['/metrics'] = {
    get: {
      operationId: 'getPrometheusMetrics',
      summary: 'Prometheus text exposition: operator throughput and watermarks, task back pressure, job checkpoints, Node.js process',
      tags: ['metrics'],
      responses: { 200: { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  }
  paths['/openapi.json'] = {
    get: { operationId: 'getOpenApi', summary: 'This document', tags: ['cluster'], responses: { 200: { description: 'OK', ...json({ type: 'object' }) } } },
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Weir REST API',
      version: '1',
      description:
        'Monitoring and control of jobs run by the embedded runner, modelled on the Flink REST API (paths, and response shapes with camelCase names). ' +
        'Errors answer { "errors": [...] }: 404 for an unknown id (named in the message), 400 for a body or query that does not match its schema, 409 when the job state does not allow the action.',
    },
    tags: TAGS,
    paths,
    components: { schemas: { Error: errorSchema } },
  }
}
