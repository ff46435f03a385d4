import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import { Window } from './window.ts'

/**
 * The one window of `GlobalWindows`: it holds every element of a key and never ends on its own, so
 * its trigger decides when it fires and its contents are only cleared by purging.
 */
export class GlobalWindow extends Window {
  private static readonly instance = new GlobalWindow()

  private constructor() {
    super()
  }

  /** The single instance. */
  static get(): GlobalWindow {
    return GlobalWindow.instance
  }

  /** The largest exact integer, as Flink uses Long.MAX_VALUE: the window never ends. */
  maxTimestamp(): number {
    return Number.MAX_SAFE_INTEGER
  }

  key(): string {
    return 'global'
  }

  override toString(): string {
    return 'GlobalWindow'
  }
}

const EMPTY = new Uint8Array(0)

/** The global window takes no bytes. */
export const globalWindowSerializer: TypeSerializer<GlobalWindow> = {
  id: 'global-window',
  version: 1,
  serialize: () => EMPTY,
  deserialize: () => GlobalWindow.get(),
}
