import { WeirError } from '../../errors.ts'
import { NO_TIMESTAMP } from '../time.ts'

/** Event-time assigners need a timestamp; without one the job forgot a timestamp assigner. */
export function requireTimestamp(timestamp: number, assigner: string): void {
  if (timestamp === NO_TIMESTAMP || Number.isNaN(timestamp)) {
    throw new WeirError(
      'NO_TIMESTAMP',
      `${assigner} got a record without a timestamp: give the source a WatermarkStrategy with a timestamp assigner, or call assignTimestampsAndWatermarks() before the window`,
    )
  }
}

/** A window size, slide or gap: a positive number of milliseconds. */
export function requirePositive(value: number, what: string, assigner: string): void {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${assigner}: the ${what} must be a positive number of milliseconds, got ${value}`)
}
