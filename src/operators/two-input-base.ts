import { MIN_WATERMARK } from '../time/time.ts'
import { AbstractUdfOperator } from './abstract-stream-operator.ts'

/** A two-input operator whose watermark is the minimum of its two inputs'. */
export abstract class AbstractTwoInputUdfOperator<OUT, F> extends AbstractUdfOperator<OUT, F> {
  private watermark1 = MIN_WATERMARK
  private watermark2 = MIN_WATERMARK
  private idle1 = false
  private idle2 = false

  processWatermark1(watermark: number): void {
    this.watermark1 = watermark
    this.combine()
  }

  processWatermark2(watermark: number): void {
    this.watermark2 = watermark
    this.combine()
  }

  endInput(_input: 1 | 2): void {}

  processWatermarkStatus(input: 1 | 2, idle: boolean): void {
    if (input === 1) this.idle1 = idle
    else this.idle2 = idle
    this.combine()
  }

  private combine(): void {
    if (this.idle1 && this.idle2) return
    const wm = this.idle1 ? this.watermark2 : this.idle2 ? this.watermark1 : Math.min(this.watermark1, this.watermark2)
    if (wm > this.currentWatermark) this.processWatermark(wm)
  }

  /** Sets the current key from a record of input 1 or 2. */
  protected setKeyOfInput(value: unknown, input: 1 | 2): void {
    const selector = input === 1 ? this.ctx.keySelector! : this.ctx.keySelector2!
    this.ctx.keyedBackend!.setCurrentKey(selector(value))
  }
}
