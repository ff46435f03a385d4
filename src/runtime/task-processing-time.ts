import type { Cancellable, ProcessingTimeService } from '../time/processing-time-service.ts'
import type { Mailbox } from './mailbox.ts'

/** Processing time of one task: callbacks are posted to the task's mailbox, never run from the timer. */
export class TaskProcessingTimeService implements ProcessingTimeService {
  private readonly handles = new Set<NodeJS.Timeout>()
  private stopped = false

  constructor(private readonly mailbox: Mailbox) {}

  now(): number {
    return Date.now()
  }

  schedule(time: number, callback: (time: number) => void): Cancellable {
    if (this.stopped) return { cancel: () => {} }
    const handle = setTimeout(
      () => {
        this.handles.delete(handle)
        if (!this.stopped) this.mailbox.put(() => callback(time))
      },
      Math.max(0, time - Date.now()),
    )
    this.handles.add(handle)
    return {
      cancel: () => {
        clearTimeout(handle)
        this.handles.delete(handle)
      },
    }
  }

  /** Cancels every pending timer: a finished or failed task leaves nothing scheduled. */
  shutdown(): void {
    this.stopped = true
    for (const h of this.handles) clearTimeout(h)
    this.handles.clear()
  }
}
