import { registry } from '../metrics.js'
import { dispatcherMetrics } from './metric-set.js'

/** The dispatcher's metrics in the registry of the thread it runs in. */
export const {
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
} = dispatcherMetrics(registry)
