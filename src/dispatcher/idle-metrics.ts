import { Registry } from 'prom-client'
import type { ThreadMetrics } from '../metrics.js'
import { dispatcherMetrics, SUBSCRIPTION_STATES } from './metric-set.js'

let made: Promise<ThreadMetrics> | null = null

/**
 * The metrics a dispatcher thread would report on a node with no subscription at all (none but
 * deleted ones), so that none of its series vanishes while no thread runs (a Prometheus
 * `absent()` alert would fire) and each has its true value: no attempt was made here, none is in
 * flight, and every subscription state counts 0. Pending deliveries count 0 too: they are
 * counted for active subscriptions only, and deleting a subscription cancels its pending ones.
 */
export function idleDispatcherMetrics(): Promise<ThreadMetrics> {
  made ??= (async () => {
    const registry = new Registry()
    const m = dispatcherMetrics(registry)
    for (const state of SUBSCRIPTION_STATES) m.subscriptionsByState.set({ state }, 0)
    return registry.getMetricsAsJSON()
  })()
  return made
}
