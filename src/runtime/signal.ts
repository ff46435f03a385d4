/**
 * A wake-up flag a task sleeps on: anything that may let it progress (input arrived, output space
 * freed, a mail posted) calls `notify`. A notify before the wait is not lost.
 */
export class Signal {
  private notified = false
  private waiter: (() => void) | undefined

  notify(): void {
    if (this.waiter) {
      const w = this.waiter
      this.waiter = undefined
      w()
    } else {
      this.notified = true
    }
  }

  wait(): Promise<void> {
    if (this.notified) {
      this.notified = false
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => {
      this.waiter = resolve
    })
  }
}
