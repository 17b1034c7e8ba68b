import type { Subscription } from '../db/subscriptions.js'
import { deliveryHealth } from '../db/delivery-health.js'
import type { FlowState } from '../dispatcher/flow.js'
import type { LaneView } from '../dispatcher/lanes.js'
import type pg from 'pg'

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

/**
 * Adds each subscription's delivery health. The dispatcher thread's view is best effort: while
 * it restarts (or does not answer) every lane reads as idle at its full limit.
 */
export async function withHealth(
  pool: pg.Pool,
  lanes: () => Promise<LaneView[]>,
  subs: Subscription[],
): Promise<SubscriptionWithHealth[]> {
  if (subs.length === 0) return []
  const [counts, view] = await Promise.all([
    deliveryHealth(
      pool,
      subs.map((s) => s.id),
    ),
    lanes().catch(() => []),
  ])
  const byId = new Map(view.map((l) => [l.subscriptionId, l]))
  return subs.map((s) => {
    const c = counts.get(s.id)
    const lane = byId.get(s.id)
    const paused = (c?.pausedAt ?? null) !== null
    return {
      ...s,
      delivery: {
        pending: c?.pending ?? 0,
        failed: c?.failed ?? 0,
        inFlight: lane?.inFlight ?? 0,
        breaker: paused ? 'open' : 'closed',
        failingSince: c?.failingSince ?? null,
        lastSuccessAt: c?.lastSuccessAt ?? null,
        flow: {
          state: paused
            ? 'paused'
            : lane?.flow.state === 'paused'
              ? 'narrowed'
              : (lane?.flow.state ?? 'normal'),
          inFlightLimit: paused ? 0 : (lane?.flow.inFlightLimit ?? s.maxInFlight),
          consecutiveFailures: c?.consecutiveFailures ?? 0,
          congestedSince: c?.downSince ?? null,
          pausedAt: c?.pausedAt ?? null,
          nextProbeAt: paused ? (c?.nextProbeAt ?? null) : null,
          heldUntil: paused ? null : (lane?.flow.heldUntil ?? null),
        },
      },
    }
  })
}
