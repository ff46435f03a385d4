import type { SerializerSnapshot, TypeSerializer } from '../api/serialization/type-serializer.ts'
import { Types } from '../api/serialization/types.ts'
import { WeirError } from '../errors.ts'
import { checkSerializerCompatibility } from '../state/serializer-compatibility.ts'
import { voidNamespaceSerializer } from '../state/void-namespace-serializer.ts'
import { globalWindowSerializer } from '../time/windows/global-window.ts'
import { timeWindowSerializer } from '../time/windows/time-window.ts'

/**
 * The serializers a snapshot can name without the job's code at hand: the built-in value types,
 * the default (msgpack), and the namespaces of windows. A reader uses them when it is not given a
 * serializer, so most savepoints can be read without the job that wrote them.
 */
const BUILTIN = new Map<string, TypeSerializer<unknown>>(
  [Types.number, Types.string, Types.boolean, Types.bigint, Types.json<unknown>(), Types.default<unknown>(), voidNamespaceSerializer, timeWindowSerializer, globalWindowSerializer].map(
    (s) => [s.id, s as TypeSerializer<unknown>],
  ),
)

/** The built-in serializer stored under an id, if there is one. */
export function builtinSerializer(id: string): TypeSerializer<unknown> | undefined {
  return BUILTIN.get(id)
}

/**
 * A function reading bytes a snapshot stored with the serializer `stored` describes: with `given`
 * when the caller passed one (migrating older layouts through its `resolveCompatibility`), else
 * with the built-in serializer of that id. `what` names the state and role for errors
 * (e.g. "State 'count' of operator 'count'", "value").
 */
export function readerFor<T>(what: string, role: string, stored: SerializerSnapshot, given: TypeSerializer<T> | undefined, option: string): (bytes: Uint8Array) => T {
  const serializer = given ?? (builtinSerializer(stored.id) as TypeSerializer<T> | undefined)
  if (serializer === undefined) {
    throw new WeirError(
      'SERIALIZER_UNKNOWN',
      `${what}: its ${role}s were written with serializer '${stored.id}' (version ${stored.version}), which is not built in; pass the job's serializer as ${option}`,
    )
  }
  const migration = checkSerializerCompatibility(what, role, stored, serializer)
  if (migration !== null) return migration.read
  return (bytes) => serializer.deserialize(bytes)
}
