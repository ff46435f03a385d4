import type { OutputTag } from '../../api/output-tag.ts'
import type { KeyedStateStore } from '../../api/runtime-context.ts'
import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { ProcessWindowContext } from '../../api/window-functions.ts'
import type { KeyedStateBackend } from '../../state/keyed-state-backend.ts'
import type { InternalTimerService } from '../../time/timer-service.ts'
import type { Window } from '../../time/windows/window.ts'
import type { Output } from '../output.ts'
import { namespacedStateStore } from './namespaced-state.ts'

/** The context handed to window functions; the operator points `window` at the firing window. */
export class WindowProcessContext<W extends Window> implements ProcessWindowContext<W> {
  window!: W
  private readonly perWindow: KeyedStateStore

  constructor(
    backend: KeyedStateBackend,
    private readonly timers: InternalTimerService<W>,
    windowSerializer: TypeSerializer<W>,
    private readonly global: KeyedStateStore,
    private readonly output_: Output<unknown>,
  ) {
    this.perWindow = namespacedStateStore(backend, windowSerializer, () => this.window)
  }

  currentProcessingTime(): number {
    return this.timers.currentProcessingTime()
  }

  currentWatermark(): number {
    return this.timers.currentWatermark()
  }

  windowState(): KeyedStateStore {
    return this.perWindow
  }

  globalState(): KeyedStateStore {
    return this.global
  }

  output<S>(tag: OutputTag<S>, value: S): void {
    this.output_.collectSide(tag, value, this.window.maxTimestamp())
  }
}
