import type { Signal } from './signal.ts'

/**
 * Actions for a task to run between records: timers, checkpoint triggers, split assignments.
 * Everything that touches an operator goes through here, so operators never see two callers at once.
 */
export class Mailbox {
  private mails: (() => void | Promise<void>)[] = []

  constructor(private readonly signal: Signal) {}

  put(mail: () => void | Promise<void>): void {
    this.mails.push(mail)
    this.signal.notify()
  }

  get isEmpty(): boolean {
    return this.mails.length === 0
  }

  /** Takes every mail queued now (mails posted while they run wait for the next turn). */
  takeAll(): (() => void | Promise<void>)[] {
    const mails = this.mails
    this.mails = []
    return mails
  }
}
