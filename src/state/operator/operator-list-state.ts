import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { OperatorListMode } from '../snapshot.ts'
import type { ListState } from '../state.ts'
import { StateError } from '../../errors.ts'

/**
 * Operator (non-keyed) list state of one subtask. Elements live as JavaScript values; the serializer
 * is used only when a snapshot is taken.
 */
export class OperatorListState<T> implements ListState<T> {
  private elements: T[]

  constructor(
    readonly name: string,
    readonly mode: OperatorListMode,
    readonly serializer: TypeSerializer<T>,
    elements: T[] = [],
  ) {
    this.elements = elements
  }

  get(): T[] {
    return this.elements.slice()
  }

  add(value: T): void {
    this.check(value)
    this.elements.push(value)
  }

  addAll(values: Iterable<T>): void {
    // Checked before anything is added, so a bad element leaves the list as it was.
    const added = [...values]
    for (const value of added) this.check(value)
    for (const value of added) this.elements.push(value)
  }

  update(values: Iterable<T>): void {
    const next = [...values]
    for (const value of next) this.check(value)
    this.elements = next
  }

  clear(): void {
    this.elements = []
  }

  /** The elements as bytes, for a snapshot. */
  serializeElements(): Uint8Array[] {
    return this.elements.map((value, i) => {
      try {
        return this.serializer.serialize(value)
      } catch (cause) {
        throw new StateError(`Operator list state '${this.name}': serializer '${this.serializer.id}' failed on element ${i}: ${String(cause)}`, { cause })
      }
    })
  }

  // `undefined` does not survive every serializer (JSON drops it), so it would vanish on restore.
  private check(value: T): void {
    if (value === undefined) throw new StateError(`Operator list state '${this.name}': cannot add undefined`)
  }
}
