import type { OutboundBacklog } from '../db/outbound-backlog.js'
import type { Totals } from './rates.js'

/**
 * `deliveries` of GET /v1/status: the backlog the dispatcher thread last counted (every 5 s,
 * from Postgres: the same on every node of one database) with this node's rates over the last
 * minute. The counts are null while unknown (the database or the dispatcher thread not up).
 */
export function deliveriesStatus(backlog: OutboundBacklog | null, rates: Totals) {
  return {
    pending: backlog?.pending ?? null,
    oldestPendingSeconds: backlog?.oldestPendingSeconds ?? null,
    deliveredPerSecond: rates.delivered,
    failedPerSecond: rates.failedAttempts,
    failingSubscriptions: backlog?.subscriptions.failing ?? null,
    pausedSubscriptions: backlog?.subscriptions.paused ?? null,
    disabledSubscriptions: backlog?.subscriptions.disabled ?? null,
  }
}
