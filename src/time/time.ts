/** The timestamp of a record that has none (no timestamp assigner ran). */
export const NO_TIMESTAMP = Number.NEGATIVE_INFINITY

/** The watermark before any was seen. */
export const MIN_WATERMARK = Number.NEGATIVE_INFINITY

/** The watermark that ends event time: every event-time timer fires. Sent when a bounded input ends. */
export const MAX_WATERMARK = Number.POSITIVE_INFINITY
