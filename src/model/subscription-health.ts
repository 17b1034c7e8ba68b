import type { Subscription } from '../db/subscriptions.js'
import type { FlowState } from './flow-state.js'

/** Flow control of a subscription: the pause from Postgres, the rest from this node's lane. */
export interface SubscriptionFlow {
  /** `paused` from Postgres (every node); else this node's: normal, narrowed or held. */
  state: FlowState
  /** Attempts this node may have in flight to it now (0 while paused: probes only). */
  inFlightLimit: number
  /**
   * Attempts in a row that met congestion (no answer, a 5xx, a 429), every node's: the window
   * that pauses at 10 spanning 30 s. A 2xx or another answer (a 4xx) ends the run.
   */
  consecutiveFailures: number
  /** When that run began; null with none. */
  congestedSince: string | null
  pausedAt: string | null
  /** When the next probe of a paused subscription may go (one across all nodes). */
  nextProbeAt: string | null
  /** Until when this node holds new attempts for the receiver's Retry-After. */
  heldUntil: string | null
}

/** What the admin API adds to a subscription: Postgres's counts and this node's lane. */
export interface SubscriptionDelivery {
  pending: number
  failed: number
  /** Attempts this node has in flight for it. */
  inFlight: number
  /** Kept for scripts written against the circuit breaker: `open` while paused, else `closed`. */
  breaker: 'closed' | 'open'
  failingSince: string | null
  lastSuccessAt: string | null
  flow: SubscriptionFlow
}

export type SubscriptionWithHealth = Subscription & { delivery: SubscriptionDelivery }
