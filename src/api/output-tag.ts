/**
 * Names a side output. Records sent to a tag with `ctx.output(tag, value)` come out of
 * `stream.getSideOutput(tag)`, beside the main output.
 */
export class OutputTag<T> {
  /** Phantom field that carries the element type. */
  declare readonly __type?: T
  constructor(readonly id: string) {
    if (typeof id !== 'string' || id.length === 0) throw new TypeError('An OutputTag needs a non-empty id')
  }
}
