import type { Subscription } from '../db/subscriptions.js'
import { deliveryHealth } from '../db/delivery-health.js'
import type { SubscriptionWithHealth } from '../model/subscription-health.js'
import type { LaneView } from '../dispatcher/lanes.js'
import type pg from 'pg'

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
