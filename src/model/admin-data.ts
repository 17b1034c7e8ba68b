/**
 * The admin API's view of the pipeline's data, shared by the admin routes (which call it) and
 * the pipeline (which implements it, in its own thread): below both, so neither imports the other.
 */
import type { EventKey } from '../event.js'
import type { EventDetail, EventQuery, EventSummary } from '../db/events.js'
import type { Subscription } from '../db/subscriptions.js'
import type { DeadLetterItem } from '../db/dead-letters.js'
import type { OutboundBacklog } from '../db/outbound-backlog.js'
import type {
  Delivery,
  DeliveryDetail,
  DeliveryQuery,
  RetryOutcome,
} from '../db/delivery-queries.js'
import type { ReplayFilter } from '../db/replay.js'
import type { SubscriptionInput, SubscriptionPatch } from '../api/subscription-input.js'
import type { SubscriptionWithHealth } from './subscription-health.js'

export type { DeadLetterItem }

export interface DeadLetterQuery {
  source?: string
  limit: number
  after?: { lastFailedAt: string; source: string; id: string }
}

/**
 * Events processed, and deliveries made and failed, by the pipeline's threads since they
 * started; and the outbound backlog the dispatcher thread last counted (null before its first
 * count, or while the thread is not up).
 */
export interface PipelineCounts {
  stored: number
  /** Events dead-lettered. */
  failed: number
  delivered: number
  /** Delivery attempts that failed. */
  failedAttempts: number
  backlog: OutboundBacklog | null
}

/**
 * What the admin API reads from and does to Postgres. The pipeline owns the database (it runs
 * in its own thread), so this is the pipeline's interface to the admin listener; calls reject
 * with code `pipeline_unavailable` while the database is not up.
 */
export interface AdminData {
  listEvents(q: EventQuery): Promise<EventSummary[]>
  /** The event with every delivery made of it. */
  getEvent(key: EventKey): Promise<(EventDetail & { deliveries: Delivery[] }) | null>
  listDeadLetters(q: DeadLetterQuery): Promise<DeadLetterItem[]>
  countDeadLetters(): Promise<number>
  /** Process again (all when `keys` is absent) and remove each letter stored. */
  redrive(keys?: EventKey[]): Promise<{ count: number; failed: number }>
  counts(): Promise<PipelineCounts>
  /** Create-or-update by (url, eventTypes, sources); the answer carries the secret. */
  upsertSubscription(
    input: SubscriptionInput,
  ): Promise<{ subscription: Subscription; created: boolean }>
  getSubscription(id: string): Promise<SubscriptionWithHealth | null>
  listSubscriptions(q: {
    limit: number
    status?: string
    after?: { createdAt: string; id: string }
  }): Promise<SubscriptionWithHealth[]>
  /** Rejects with code 23505 when the change would clash with another subscription's key. */
  patchSubscription(id: string, patch: SubscriptionPatch): Promise<SubscriptionWithHealth | null>
  /** Marks it deleted and cancels its pending deliveries. */
  deleteSubscription(id: string): Promise<boolean>
  rotateSecret(id: string, graceSeconds: number): Promise<Subscription | null>
  listDeliveries(q: DeliveryQuery): Promise<Delivery[]>
  getDelivery(id: string): Promise<DeliveryDetail | null>
  /** Due now, and the dispatcher woken. */
  retryDelivery(id: string): Promise<RetryOutcome>
  /** Rejects with code `replay_too_large` past REPLAY_MAX deliveries, making none. */
  replay(filter: ReplayFilter, dryRun: boolean): Promise<{ count: number }>
}
