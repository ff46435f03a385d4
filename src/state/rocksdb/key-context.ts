import { StateError } from '../../errors.ts'
import type { KeyIdentity } from '../key-serialization.ts'

const NO_BYTES = Buffer.alloc(0)

/**
 * The current key of a RocksDB backend, shared by its states: its identity (to find cached rows
 * without serializing anything) and the part of a row key it fixes, prepared once per key.
 */
export class RocksKeyContext {
  key: unknown = undefined
  keyId: KeyIdentity = 0
  keyGroup = -1
  /** `keyGroup | varint(length) | canonical key bytes` (see row-key.ts). */
  keyPart: Buffer = NO_BYTES

  assign(other: RocksKeyContext): void {
    this.key = other.key
    this.keyId = other.keyId
    this.keyGroup = other.keyGroup
    this.keyPart = other.keyPart
  }
}

/** The error for state access before any `setCurrentKey`. */
export function noCurrentKeyError(stateName: string): StateError {
  return new StateError(`State '${stateName}' was accessed before a current key was set; keyed state can only be used in a keyed context`)
}
