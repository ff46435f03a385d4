/**
 * A finite (or, for the global window, endless) bucket of a keyed stream. Windows are the namespaces
 * of the window operator's keyed state and timers, so equal windows must serialize to equal bytes.
 */
export abstract class Window {
  /** The largest timestamp that still belongs to the window; results of the window carry it. */
  abstract maxTimestamp(): number
  /** A string equal windows share, for maps of windows. */
  abstract key(): string

  equals(other: Window): boolean {
    return this.constructor === other.constructor && this.key() === other.key()
  }
}
