import type { TypeSerializer } from '../api/serialization/type-serializer.ts'
import { VOID_NAMESPACE, type VoidNamespace } from './keyed-state-backend.ts'

const EMPTY = new Uint8Array(0)

/** The namespace of state outside windows: written as zero bytes. */
export const voidNamespaceSerializer: TypeSerializer<VoidNamespace> = {
  id: 'void',
  version: 1,
  serialize: () => EMPTY,
  deserialize: () => VOID_NAMESPACE,
}
