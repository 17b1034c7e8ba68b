import { uuidv7 } from 'uuidv7'

/** Longest event id accepted (CONTRACT.md "Event id"); longer ids get 400 invalid_event_id. */
export const MAX_EVENT_ID_LENGTH = 256

/**
 * Headers carrying an id chosen by the sender, in contract order: the generic Idempotency-Key
 * first, then each provider's own delivery id. Names are lower-case (uWS lower-cases them).
 */
export const ID_HEADERS = Object.freeze([
  'idempotency-key',
  'webhook-id',
  'svix-id',
  'x-github-delivery',
  'x-shopify-webhook-id',
])

export type EventIdResult = { ok: true; id: string } | { ok: false; length: number }

/**
 * The event id of a request: the first non-empty id header, else the id the source's
 * verifier took from the body (Stripe's event id), else a new UUIDv7 (time-ordered).
 */
export function resolveEventId(
  headers: Record<string, string>,
  providerId?: string,
): EventIdResult {
  let id: string | undefined
  for (const name of ID_HEADERS) {
    const value = headers[name]?.trim()
    if (value) {
      id = value
      break
    }
  }
  id ??= providerId || uuidv7()
  if (id.length > MAX_EVENT_ID_LENGTH) return { ok: false, length: id.length }
  return { ok: true, id }
}
