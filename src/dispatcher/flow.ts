import type { FlowOptions } from '../outbound/flow-options.js'
import type { FlowState } from '../model/flow-state.js'

/**
 * Flow control of one subscription on this node: how many attempts it may have in flight.
 *
 * A receiver that fails some requests must keep receiving, and a dead one must be spared. So
 * nothing here ever stops a subscription for good: it narrows. The in-flight limit starts at
 * the subscription's maxInFlight, halves when an attempt meets congestion (no answer, a 5xx, a
 * 429) and grows by one per limit's worth of successes (additive increase, multiplicative
 * decrease, as TCP does), never below one. A Retry-After from the receiver holds new attempts
 * until then (at most `holdMaxMs`). The pause, the one state in which nothing but a probe goes,
 * is decided in Postgres over every node's results (src/db/delivery-results.ts) and only
 * mirrored here. None of this spends a delivery's attempts: what is held back simply waits.
 */

/** How an attempt's result bears on flow control. */
export type Signal =
  /** A 2xx: the receiver takes deliveries. */
  | { readonly kind: 'success' }
  /** No answer, a 5xx or a 429: the receiver is overloaded or away. */
  | { readonly kind: 'congestion'; readonly retryAfterMs?: number | undefined }
  /** Any other answer (a 4xx, a 3xx) or a refusal of ours: says nothing about its load. */
  | { readonly kind: 'neutral' }

export type { FlowState }

export interface FlowView {
  readonly state: FlowState
  /** Attempts this node may have in flight to it now. */
  readonly inFlightLimit: number
  /** Until when a Retry-After holds new attempts (ISO 8601), when it does. */
  readonly heldUntil: string | null
}

export class Flow {
  private window: number
  /** An attempt started before the last decrease already saw the congestion that caused it. */
  private decreasedAt = -Infinity
  private holdUntil = 0
  private paused = false

  constructor(
    private max: number,
    private readonly options: FlowOptions,
  ) {
    this.window = max
  }

  /** maxInFlight changed: the limit follows, within the new bound. */
  resize(max: number): void {
    this.max = max
    this.window = Math.min(this.window, max)
  }

  /**
   * What Postgres says of the pause. Coming out of one, the receiver has just answered a single
   * probe: it starts again from one attempt in flight, not from the full limit.
   */
  setPaused(paused: boolean): boolean {
    if (paused === this.paused) return false
    this.paused = paused
    if (!paused) this.window = 1
    return true
  }

  get isPaused(): boolean {
    return this.paused
  }

  /** Attempts that may be in flight now (before subtracting those that are). */
  limit(nowMs: number): number {
    if (this.paused || nowMs < this.holdUntil) return 0
    return Math.floor(this.window)
  }

  /** When a hold ends, if one holds at `nowMs`. */
  heldUntil(nowMs: number): number | null {
    return !this.paused && nowMs < this.holdUntil ? this.holdUntil : null
  }

  /** An attempt started at `startedMs` ended with `signal`; returns the state entered, if new. */
  observe(signal: Signal, startedMs: number, nowMs: number): FlowState | null {
    const before = this.state(nowMs)
    if (signal.kind === 'success') {
      this.window = Math.min(this.max, this.window + 1 / Math.floor(this.window))
    } else if (signal.kind === 'congestion') {
      if (startedMs >= this.decreasedAt) {
        this.window = Math.max(1, this.window / 2)
        this.decreasedAt = nowMs
      }
      const hold = Math.min(signal.retryAfterMs ?? 0, this.options.holdMaxMs)
      if (hold > 0) this.holdUntil = Math.max(this.holdUntil, nowMs + hold)
    }
    const after = this.state(nowMs)
    return after === before ? null : after
  }

  state(nowMs: number): FlowState {
    if (this.paused) return 'paused'
    if (nowMs < this.holdUntil) return 'held'
    return Math.floor(this.window) < this.max ? 'narrowed' : 'normal'
  }

  view(nowMs: number): FlowView {
    const held = this.heldUntil(nowMs)
    return {
      state: this.state(nowMs),
      inFlightLimit: this.paused ? 0 : Math.floor(this.window),
      heldUntil: held === null ? null : new Date(held).toISOString(),
    }
  }

  /** Nothing to remember: a new Flow would behave the same. */
  get settled(): boolean {
    return !this.paused && this.window >= this.max
  }
}
