/** The web layer of the embedded runner: REST API, Prometheus metrics, dashboard. */
export { startWebServer, DEFAULT_DASHBOARD_DIR, type WebServer, type WebServerOptions } from './server.ts'
export { JobRegistry, type RegisteredJob, type RegistrationOptions, type SnapshotOperation } from './job-registry.ts'
export { MetricsSampler, type SamplerOptions, type SubtaskRates } from './metrics/sampler.ts'
export { createPrometheusRegistry } from './prometheus.ts'
export { openApiDocument } from './openapi.ts'
export { createLogger, engineLog, LOG_LEVELS, type LogLevel, type Logger } from './logger.ts'
export type * from './api-types.ts'
