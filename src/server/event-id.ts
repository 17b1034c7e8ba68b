import { uuidv7 } from 'uuidv7'

/** Longest event id accepted (docs/sources.md, "Event id and type"); longer ids get 400 invalid_event_id. */
export const MAX_EVENT_ID_LENGTH = 256

/**
 * Headers carrying an id chosen by the sender, in the documented order (docs/sources.md, "Event id and type"): the generic
 * Idempotency-Key first, then each provider's own delivery id. Names are lower-case (uWS
 * lower-cases them).
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
 * The event id of a request. `signedId` is the id the source's signature covers (Stripe's body
 * `id`, Standard Webhooks' `webhook-id`/`svix-id`, from the verifier) and wins: the headers
 * are not signed, so a captured request replayed within the timestamp tolerance with a new
 * Idempotency-Key must still be the same event, i.e. the same (source, id) row. Otherwise
 * the first non-empty id header, else a new UUIDv7 (time-ordered).
 */
export function resolveEventId(headers: Record<string, string>, signedId?: string): EventIdResult {
  let id = signedId ? wellFormed(signedId) : undefined
  if (id === undefined) {
    for (const name of ID_HEADERS) {
      const value = headers[name]?.trim()
      if (value) {
        id = value
        break
      }
    }
  }
  id ??= uuidv7()
  if (id.length > MAX_EVENT_ID_LENGTH) return { ok: false, length: id.length }
  return { ok: true, id }
}

/**
 * A signed id comes from the body's JSON, where `"\ud800"` is a valid escape for a lone
 * surrogate. The journal and Postgres hold text as UTF-8, which has none: they would store
 * U+FFFD in its place, so the event's key would differ from the one the engine holds in memory
 * (its first store was counted a duplicate). The id is that stored form from the start.
 */
const wellFormed = (id: string) => id.replace(/\p{Cs}/gu, '\uFFFD')
