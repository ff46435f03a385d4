import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { previewRecord, StateError } from '../../errors.ts'
import { VOID_NAMESPACE } from '../keyed-state-backend.ts'
import { keyIdentity, type KeyIdentity } from '../key-serialization.ts'

const NO_BYTES = new Uint8Array(0)

/**
 * Namespace serializer of states created without one: they only have the void namespace, which
 * takes no bytes in a snapshot.
 */
export const voidNamespaceSerializer: TypeSerializer<unknown> = {
  id: 'void',
  version: 1,
  serialize(namespace) {
    if (namespace !== VOID_NAMESPACE) throw new StateError(`The void namespace serializer cannot write namespace ${previewRecord(namespace)}`)
    return NO_BYTES
  },
  deserialize(bytes) {
    if (bytes.length !== 0) throw new StateError(`Corrupt snapshot: a void namespace has ${bytes.length} bytes, expected none`)
    return VOID_NAMESPACE
  },
}

/**
 * The `Map` identity of a namespace: `keyIdentity` where the namespace is key-like (so equal
 * windows given as plain objects match), else its serialized bytes, because window classes are
 * not plain objects and keyIdentity refuses them. The bytes get a prefix no keyIdentity result has
 * (NUL then 0xff: composite identities have a tag byte below 0xff there, escaped strings a NUL).
 */
export function namespaceIdentity(stateName: string, namespace: unknown, serializer: TypeSerializer<unknown>): KeyIdentity {
  if (namespace === VOID_NAMESPACE) return 0
  if (serializer === voidNamespaceSerializer) {
    throw new StateError(
      `State '${stateName}' was created without a namespace serializer, so it only has the void namespace; pass a namespace serializer when getting the state to use namespace ${previewRecord(namespace)}`,
    )
  }
  if (typeof namespace === 'object' && namespace !== null && !isPlain(namespace)) return bytesIdentity(serializer.serialize(namespace))
  try {
    return keyIdentity(namespace)
  } catch {
    // A plain object holding a class instance somewhere inside.
    return bytesIdentity(serializer.serialize(namespace))
  }
}

function isPlain(value: object): boolean {
  if (Array.isArray(value)) return true
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function bytesIdentity(bytes: Uint8Array): string {
  return `\u0000\u00ff${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')}`
}
