import type { OutputTag } from '../../api/output-tag.ts'
import type { KeyedStateStore } from '../../api/runtime-context.ts'
import type { TypeSerializer } from '../../api/serialization/type-serializer.ts'
import type { ProcessWindowContext } from '../../api/window-functions.ts'
import type { KeyedStateBackend } from '../../state/keyed-state-backend.ts'
import type { InternalTimerService } from '../../time/timer-service.ts'
import type { Window } from '../../time/windows/window.ts'
import { StateError } from '../../errors.ts'
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
    private readonly sideOutput: Output<unknown>,
    /** Per-window state of merging windows would be stranded in windows that merge away. */
    private readonly merging: boolean,
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
    if (this.merging) throw new StateError('Per-window state is not available with merging windows (sessions): use globalState() or the window contents')
    return this.perWindow
  }

  globalState(): KeyedStateStore {
    return this.global
  }

  output<S>(tag: OutputTag<S>, value: S): void {
    this.sideOutput.collectSide(tag, value, this.window.maxTimestamp())
  }
}
