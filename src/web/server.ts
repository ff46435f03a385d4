import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import { pino, type Logger } from 'pino'
import type { JobRegistry } from './job-registry.ts'
import { openApiDocument } from './openapi.ts'
import { createPrometheusRegistry } from './prometheus.ts'
import { ApiError, routes, type RouteContext } from './routes.ts'
import { errorSchema } from './schemas.ts'

/** Where `npm run build:web` puts the dashboard. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url))

/** Options of the web server. */
export interface WebServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  /** Default 127.0.0.1: the API can cancel jobs, so it is not exposed unless asked. */
  host?: string
  /** Where requests and server errors are logged; silent when absent. */
  logger?: Logger
  /** The built dashboard; the default is `dist/web` of this package. */
  dashboardDir?: string
}

/** A running web server. */
export interface WebServer {
  /** e.g. `http://127.0.0.1:8081` (no trailing slash). */
  readonly url: string
  readonly port: number
  readonly app: FastifyInstance
  close(): Promise<void>
}

interface AjvError {
  instancePath: string
  message?: string
  params: Record<string, unknown>
}

/** One line per schema violation, naming the field and, where it helps, what was expected. */
function describeValidation(context: string | undefined, errors: readonly AjvError[]): string[] {
  return errors.map((e) => {
    const where = `${context ?? 'request'}${e.instancePath.replace(/\//g, '.')}`
    const p = e.params
    let extra = ''
    if (typeof p.additionalProperty === 'string') extra = `: '${p.additionalProperty}'`
    else if (Array.isArray(p.allowedValues)) extra = `: ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
    else if (typeof p.missingProperty === 'string') extra = ` (missing '${p.missingProperty}')`
    return `${where} ${e.message ?? 'is invalid'}${extra}`
  })
}

/**
 * Serves the REST API, the Prometheus endpoint, the OpenAPI document and the dashboard for the
 * jobs of a registry. Requests are validated against the routes' JSON schemas; an unknown job,
 * vertex, checkpoint or trigger id is a 404 naming the id, a bad body or query a 400 naming the
 * field, an action the job's state does not allow a 409.
 */
export async function startWebServer(registry: JobRegistry, options: WebServerOptions = {}): Promise<WebServer> {
  const logger = options.logger ?? pino({ level: 'silent' })
  const app = Fastify({
    loggerInstance: logger.child({ component: 'web' }) as FastifyBaseLogger,
    // The dashboard polls every second; only requests that change something are worth a line.
    logController: new LogController({ disableRequestLogging: (request) => request.method === 'GET' || request.method === 'HEAD' }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, useDefaults: false } },
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ApiError) return reply.code(error.statusCode).send({ errors: [error.message] })
    if (error.validation) return reply.code(400).send({ errors: describeValidation(error.validationContext, error.validation as AjvError[]) })
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return reply.code(error.statusCode).send({ errors: [error.message] })
    request.log.error({ err: error }, 'request failed')
    return reply.code(500).send({ errors: [`Internal error: ${error.message}`] })
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ errors: [`No such endpoint: ${request.method} ${request.url.split('?')[0]}`] }))

  for (const route of routes) {
    const response: Record<string, unknown> = { [route.status]: route.response, '4xx': errorSchema }
    app.route({
      method: route.method,
      url: route.url,
      schema: {
        ...(route.params ? { params: route.params } : {}),
        ...(route.querystring ? { querystring: route.querystring } : {}),
        ...(route.body ? { body: route.body } : {}),
        response,
      },
      // A trigger without a body (as `curl -X POST` sends it) means "no options".
      preValidation: route.body
        ? async (request) => {
            if (request.body === undefined || request.body === null) request.body = {}
          }
        : undefined,
      handler: async (request, reply) => {
        const ctx: RouteContext = {
          registry,
          request,
          reply,
          params: (request.params ?? {}) as Record<string, string>,
          query: (request.query ?? {}) as Record<string, string | undefined>,
          body: (request.body ?? {}) as Record<string, unknown>,
        }
        const body = await route.handler(ctx)
        return reply.code(route.status).send(body)
      },
    })
  }

  const prometheus = createPrometheusRegistry(registry)
  app.get('/metrics', async (_request, reply) => reply.type(prometheus.contentType).send(await prometheus.metrics()))
  const openapi = openApiDocument()
  app.get('/openapi.json', async () => openapi)

  const dashboardDir = options.dashboardDir ?? DEFAULT_DASHBOARD_DIR
  if (existsSync(dashboardDir)) {
    await app.register(fastifyStatic, { root: dashboardDir, prefix: '/', index: 'index.html' })
  } else {
    app.get('/', async (_request, reply) =>
      reply
        .code(503)
        .type('text/plain')
        .send(`The dashboard is not built (${dashboardDir} is missing): run npm run build:web. The REST API is served: GET /jobs, GET /openapi.json.\n`),
    )
  }

  const host = options.host ?? '127.0.0.1'
  await app.listen({ port: options.port ?? 0, host })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0)
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  return {
    url: `http://${shownHost}:${port}`,
    port,
    app,
    close: () => app.close(),
  }
}
