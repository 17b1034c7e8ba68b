import type { OutboundBacklog } from '../db/outbound-backlog.js'
import type { ThreadMetrics } from '../metrics.js'

/** What GET /v1/status reports of this node's dispatcher thread. */
export interface OutboundCounts {
  /** Deliveries that succeeded since the thread started (its counters restart with it). */
  delivered: number
  /** Attempts that failed since the thread started: retried, failed finally, or gone (410). */
  failedAttempts: number
  /** The backlog gauges (src/dispatcher/backlog-gauges.ts); null before their first count. */
  backlog: OutboundBacklog | null
}

/** The dispatcher thread's metrics (none while it restarts) read as OutboundCounts. */
export function outboundCounts(metrics: ThreadMetrics | undefined): OutboundCounts {
  const values = (name: string) => metrics?.find((m) => m.name === name)?.values ?? []
  const value = (name: string) => values(name)[0]?.value ?? 0
  let delivered = 0
  let failedAttempts = 0
  for (const v of values('sluice_deliveries_total')) {
    // stale: the lease had passed to another owner, whose attempt counts there.
    if (v.labels.outcome === 'succeeded') delivered += v.value
    else if (v.labels.outcome !== 'stale') failedAttempts += v.value
  }
  // Its states are all set by each count, none before the first one.
  const states = new Map(values('sluice_subscriptions').map((v) => [v.labels.state, v.value]))
  const state = (s: string) => states.get(s) ?? 0
  return {
    delivered,
    failedAttempts,
    backlog:
      states.size === 0
        ? null
        : {
            pending: value('sluice_deliveries_pending'),
            oldestPendingSeconds: value('sluice_deliveries_oldest_pending_age_seconds'),
            subscriptions: {
              active: state('active'),
              failing: state('failing'),
              paused: state('paused'),
              disabled: state('disabled'),
            },
          },
  }
}
