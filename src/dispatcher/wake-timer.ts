/**
 * The dispatcher's one sleep: a timer that can only be moved earlier while it is set, so a
 * later estimate (taken before a retry was recorded) never postpones an earlier wake.
 */
export class WakeTimer {
  private timer: NodeJS.Timeout | null = null
  private at = 0
  private closed = false

  constructor(private readonly wake: () => void) {}

  /** Wake in `ms` unless already set for sooner. */
  in(ms: number): void {
    const at = Date.now() + Math.max(1, Math.ceil(ms))
    if (this.closed || (this.timer && this.at <= at)) return
    this.clear()
    this.at = at
    this.timer = setTimeout(() => {
      this.timer = null
      this.wake()
    }, at - Date.now())
  }

  /** The wake is happening now (a claim runs): whatever was set is moot. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  close(): void {
    this.closed = true
    this.clear()
  }
}
