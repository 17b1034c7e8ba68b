import type { SubscriptionDelivery } from '../api/types.js'
import type { Subscription } from '../db/subscriptions.js'

/**
 * A subscription with what the admin API adds to it: Postgres's counts and this node's lane
 * (flow control). The shapes are the API's, written once in src/api/subscription.ts.
 */
export type { SubscriptionDelivery, SubscriptionFlow } from '../api/types.js'

export type SubscriptionWithHealth = Subscription & { delivery: SubscriptionDelivery }
