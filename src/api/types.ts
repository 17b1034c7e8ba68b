import type { z } from 'zod'
import type { components } from './components.js'

/**
 * The TypeScript types of the admin API's shapes, inferred from their schemas: the db layer's
 * answers (src/db/delivery-queries.ts, dead-letters.ts, events.ts, subscriptions.ts), the
 * client's return types and, through api-types.d.ts, the operator page's.
 */
type Of<K extends keyof typeof components> = z.output<(typeof components)[K]>

export type ApiError = Of<'Error'>
export type EventSummary = Of<'EventSummary'>
export type EventDetail = Of<'EventDetail'>
export type DeadLetter = Of<'DeadLetter'>
export type DeadLetterRetryResult = Of<'DeadLetterRetryResult'>
export type Subscription = Of<'Subscription'>
export type ListedSubscription = Of<'ListedSubscription'>
export type SubscriptionDelivery = Of<'SubscriptionDelivery'>
export type SubscriptionFlow = Of<'SubscriptionFlow'>
export type Delivery = Of<'Delivery'>
export type DeliveryStatus = Delivery['status']
export type DeliveryDetail = Of<'DeliveryDetail'>
export type DeliveryAttempt = Of<'DeliveryAttempt'>
export type ReplayResult = Of<'ReplayResult'>
export type Status = Of<'Status'>
export type DeliveriesStatus = Of<'DeliveriesStatus'>
export interface Page<T> {
  data: T[]
  nextCursor: string | null
}
