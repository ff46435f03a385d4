/**
 * Errors a user can act on. Each has a stable `code` so scripts and tests can tell them apart,
 * and a message that names what was wrong and where (operator, subtask, checkpoint, record).
 */
export class WeirError extends Error {
  /** A stable machine-readable code, e.g. `USER_FUNCTION_FAILED`. */
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A key selector returned a value that cannot be serialized canonically (function, symbol, cycle...). */
export class InvalidKeyError extends WeirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_KEY', message, options)
  }
}

/** User code (a map function, a process function, a source or a sink) threw. */
export class UserFunctionError extends WeirError {
  readonly operator: string
  readonly subtask: number
  constructor(operator: string, subtask: number, recordPreview: string | undefined, cause: unknown) {
    const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
    const record = recordPreview === undefined ? '' : ` while processing record ${recordPreview}`
    super('USER_FUNCTION_FAILED', `Operator '${operator}' (subtask ${subtask}) failed${record}: ${what}`, { cause })
    this.operator = operator
    this.subtask = subtask
  }
}

/** A state was used in a way its kind or its descriptor does not allow. */
export class StateError extends WeirError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATE_ERROR', message, options)
  }
}

/** The job graph is not valid (bad parallelism, missing sink, a uid used twice...). */
export class JobGraphError extends WeirError {
  constructor(message: string) {
    super('INVALID_JOB_GRAPH', message)
  }
}

/** Renders a record for an error message: short, never throwing, whatever the value is. */
export function previewRecord(value: unknown, maxLength = 200): string {
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'bigint' ? `${value}n` : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text
}
