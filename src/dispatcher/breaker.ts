/**
 * A circuit breaker per subscription, on this node. After `threshold` consecutive failed
 * attempts it opens: its deliveries are not claimed (they wait, spending no attempt). After
 * the open period it half-opens and lets exactly one delivery through as a probe: a success
 * closes it, a failure opens it again for twice as long (up to `maxOpenMs`).
 */
export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerOptions {
  /** Consecutive failures that open it. @defaultValue 5 */
  readonly threshold: number
  /** First open period. @defaultValue 30000 */
  readonly openMs: number
  /** Longest open period after repeated failed probes. @defaultValue 600000 */
  readonly maxOpenMs: number
}

export const BREAKER_DEFAULTS: BreakerOptions = Object.freeze({
  threshold: 5,
  openMs: 30_000,
  maxOpenMs: 600_000,
})

export class Breaker {
  private failures = 0
  private opened = 0
  private until = 0
  private open = false
  private probing = false

  constructor(private readonly options: BreakerOptions = BREAKER_DEFAULTS) {}

  state(nowMs: number): BreakerState {
    if (!this.open) return 'closed'
    return nowMs >= this.until ? 'half_open' : 'open'
  }

  /** How many deliveries may start now: unbounded when closed, one probe when half-open. */
  allowance(nowMs: number): number {
    const state = this.state(nowMs)
    if (state === 'closed') return Infinity
    return state === 'half_open' && !this.probing ? 1 : 0
  }

  /** A delivery starts; in half-open it is the probe. */
  started(nowMs: number): void {
    if (this.state(nowMs) === 'half_open') this.probing = true
  }

  /** When an open breaker half-opens; null when it is not open. */
  halfOpensAt(): number | null {
    return this.open ? this.until : null
  }

  /** Returns the state it moved to, if it moved. */
  succeeded(): BreakerState | null {
    this.failures = 0
    this.probing = false
    if (!this.open) return null
    this.open = false
    this.opened = 0
    return 'closed'
  }

  failed(nowMs: number): BreakerState | null {
    const wasProbe = this.probing
    this.probing = false
    this.failures++
    // While open, late results of attempts started before it opened change nothing.
    if (this.open && !wasProbe) return null
    if (!this.open && this.failures < this.options.threshold) return null
    const period = Math.min(this.options.maxOpenMs, this.options.openMs * 2 ** this.opened)
    this.opened = Math.min(this.opened + 1, 30)
    this.open = true
    this.until = nowMs + period
    return 'open'
  }
}
