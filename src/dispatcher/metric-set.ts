import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The subscription states that sluice_subscriptions counts (OutboundBacklog's). */
export const SUBSCRIPTION_STATES = ['active', 'failing', 'paused', 'disabled'] as const

/**
 * The dispatcher's metrics, made in `registry`: the registry of the thread it runs in (summed
 * into /metrics with the other threads', ./metrics.ts), or a registry of their values while no
 * dispatcher thread runs (./idle-metrics.ts). No per-subscription label: a label per subscriber
 * would grow without bound; the admin API answers per-subscription questions.
 */
export function dispatcherMetrics(registry: Registry) {
  const deliveriesTotal = new Counter({
    name: 'sluice_deliveries_total',
    help: 'Delivery attempts by what they did: succeeded, retried (another attempt is scheduled), failed (no attempt left), gone (410: subscription disabled), stale (the lease had passed to another owner: result discarded)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  for (const outcome of ['succeeded', 'retried', 'failed', 'gone', 'stale']) {
    deliveriesTotal.inc({ outcome }, 0)
  }

  const attemptSeconds = new Histogram({
    name: 'sluice_delivery_attempt_duration_seconds',
    help: 'Duration of one delivery attempt, response body included, by its result: success, failure, retry, gone',
    labelNames: ['result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
    registers: [registry],
  })

  const deliveriesDue = new Gauge({
    name: 'sluice_deliveries_due',
    help: 'Pending deliveries of active subscriptions that are due and not being attempted',
    registers: [registry],
  })

  const oldestDueSeconds = new Gauge({
    name: 'sluice_deliveries_oldest_due_age_seconds',
    help: 'How long the oldest due delivery has been due (0 when none is)',
    registers: [registry],
  })

  const deliveriesInFlight = new Gauge({
    name: 'sluice_deliveries_in_flight',
    help: 'Delivery attempts this node has in progress',
    registers: [registry],
  })

  const flowTransitions = new Counter({
    name: 'sluice_delivery_flow_transitions_total',
    help: 'Flow control of subscriptions on this node, by the state entered: narrowed (fewer attempts in flight after congestion), normal (back to maxInFlight), held (a Retry-After), paused, resumed (from a pause)',
    labelNames: ['to'] as const,
    registers: [registry],
  })

  const ssrfRefusals = new Counter({
    name: 'sluice_delivery_ssrf_refusals_total',
    help: 'Delivery attempts refused because the destination address is not allowed (SLUICE_OUTBOUND_ALLOW)',
    registers: [registry],
  })

  const subscriptionsDisabled = new Counter({
    name: 'sluice_subscriptions_disabled_total',
    help: 'Subscriptions the dispatcher disabled, by reason: gone (410), failing (SLUICE_DISABLE_AFTER_HOURS)',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  // Both series exist from the start, like the outcomes above: a series born at 1 has no earlier
  // sample, so increase() would see no increase and an alert on the first disabling never fire.
  for (const reason of ['gone', 'failing']) subscriptionsDisabled.inc({ reason }, 0)

  const subscriptionsByState = new Gauge({
    name: 'sluice_subscriptions',
    help: 'Subscriptions by state, each counted once: active (delivering normally), failing, paused, disabled (counted every 5 s; shared by the nodes of one database)',
    labelNames: ['state'] as const,
    registers: [registry],
  })

  const deliveriesPending = new Gauge({
    name: 'sluice_deliveries_pending',
    help: 'Pending deliveries of active subscriptions, exact up to 100000 (counted every 5 s; shared by the nodes of one database)',
    registers: [registry],
  })

  const oldestPendingSeconds = new Gauge({
    name: 'sluice_deliveries_oldest_pending_age_seconds',
    help: 'Age of the oldest pending delivery of an active subscription since it was created (0 when none)',
    registers: [registry],
  })
  return {
    deliveriesTotal,
    attemptSeconds,
    deliveriesDue,
    oldestDueSeconds,
    deliveriesInFlight,
    flowTransitions,
    ssrfRefusals,
    subscriptionsDisabled,
    subscriptionsByState,
    deliveriesPending,
    oldestPendingSeconds,
  }
}
