import type { Subscription } from '../db/subscriptions.js'
import { deliveryHealth } from '../db/delivery-health.js'
import type { LaneView } from '../dispatcher/lanes.js'
import type pg from 'pg'

/** What the admin API adds to a subscription: Postgres's counts and this node's lane. */
export interface SubscriptionDelivery {
  pending: number
  failed: number
  /** Attempts this node has in flight for it. */
  inFlight: number
  /** This node's breaker (each node has its own). */
  breaker: LaneView['breaker']
  failingSince: string | null
  lastSuccessAt: string | null
}

export type SubscriptionWithHealth = Subscription & { delivery: SubscriptionDelivery }

/**
 * Adds each subscription's delivery health. The dispatcher thread's view is best effort: while
 * it restarts (or does not answer) every lane reads as idle and closed.
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
    return {
      ...s,
      delivery: {
        pending: c?.pending ?? 0,
        failed: c?.failed ?? 0,
        inFlight: lane?.inFlight ?? 0,
        breaker: lane?.breaker ?? 'closed',
        failingSince: c?.failingSince ?? null,
        lastSuccessAt: c?.lastSuccessAt ?? null,
      },
    }
  })
}
