import { pino, type Logger } from 'pino'

/** Log levels pino knows, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/**
 * The structured logger of `weir run`: JSON lines on standard error, so standard output keeps the
 * job's own output and the progress line.
 */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ name: 'weir', level }, pino.destination({ fd: 2, sync: true }))
}

/** Engine messages (restarts, failed checkpoints) are warnings: each means something went wrong. */
export function engineLog(logger: Logger, job: { name: string }): (message: string) => void {
  const child = logger.child({ component: 'engine', job: job.name })
  return (message) => child.warn(message)
}

/** pino's logger, as the web server and `weir run` use it. */
export type { Logger }
