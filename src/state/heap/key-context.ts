import type { KeyIdentity } from '../key-serialization.ts'
import { StateError } from '../../errors.ts'

/**
 * The current key of a backend, shared by all its states so each access reads prepared fields
 * instead of hashing the key again.
 */
export class KeyContext {
  key: unknown = undefined
  keyId: KeyIdentity = 0
  keyGroup = -1
  /** `keyGroup` minus the first key group of the backend's range; -1 before the first key is set. */
  groupIndex = -1

  /** Copies another context's fields; saving and restoring the current key needs no rehashing. */
  assign(other: KeyContext): void {
    this.key = other.key
    this.keyId = other.keyId
    this.keyGroup = other.keyGroup
    this.groupIndex = other.groupIndex
  }
}

/** The error for state access before any `setCurrentKey`. */
export function noCurrentKeyError(stateName: string): StateError {
  return new StateError(`State '${stateName}' was accessed before a current key was set; keyed state can only be used in a keyed context`)
}
