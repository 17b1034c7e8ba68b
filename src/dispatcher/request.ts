import { createHash } from 'node:crypto'
import type { ClaimedDelivery } from '../db/deliveries.js'
import type { AttemptRequest } from '../outbound/attempt.js'
import { secretsAt, type CachedSubscription } from './subscription-cache.js'

/**
 * `webhook-id` of an event: derived from (source, id) alone, so it is the same on every attempt,
 * for every subscription and on every node, and a receiver can deduplicate by it. Hashed because
 * an event id may hold any character and the header must be visible ASCII.
 */
export function webhookId(source: string, eventId: string): string {
  const key = `${source}\u0000${eventId}`
  let id = recentIds.get(key)
  if (id !== undefined) return id
  const digest = createHash('sha256').update(key).digest()
  id = `msg_${digest.subarray(0, 20).toString('base64url')}`
  // An event fans out to every subscription in the same claims: hashed once, not once each.
  if (recentIds.size >= RECENT_IDS) recentIds.clear()
  recentIds.set(key, id)
  return id
}

const RECENT_IDS = 4096
const recentIds = new Map<string, string>()

/**
 * The body sent: the event's exact bytes, unless the subscription has a `payload` and the body
 * is a JSON object, which is then sent with the payload's keys added (the payload's value wins
 * a clash: it is what the subscriber asked for).
 */
export function deliveryBody(body: Buffer, payload: Readonly<Record<string, unknown>> | null) {
  if (payload === null || Object.keys(payload).length === 0) return body
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return body
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return body
  return Buffer.from(JSON.stringify({ ...parsed, ...payload }))
}

/** The attempt of one claimed delivery (whose event body is there) for its subscription. */
export function attemptRequest(
  delivery: ClaimedDelivery & { body: Buffer },
  sub: CachedSubscription,
  nowMs: number,
): AttemptRequest {
  return {
    url: sub.url,
    body: deliveryBody(delivery.body, sub.payload),
    contentType: delivery.contentType ?? 'application/octet-stream',
    headers: sub.headers,
    webhookId: webhookId(delivery.source, delivery.eventId),
    secrets: secretsAt(sub, nowMs),
  }
}
