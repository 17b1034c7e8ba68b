import type { HttpErrorCode } from '../errors.js'

/** What the HTTP server asks of a source, in request order: admit (before reading), then verify. */

export interface RequestView {
  /** Lower-cased header names. */
  headers: Record<string, string>
  body: Buffer
}

export type Rejection = {
  ok: false
  status: 400 | 401 | 429
  /** Stable error code, see src/errors.ts. */
  code: HttpErrorCode
  message: string
  retryAfterSeconds?: number
}

export type Verified = {
  ok: true
  /** Scheme that verified the request, null when the source is unsigned. */
  verifiedBy: string | null
  /**
   * The sender's event id as covered by the signature (Stripe's body `id`, Standard Webhooks'
   * `webhook-id`/`svix-id`). It outranks every id header, Idempotency-Key included: those are
   * not signed, so a replay could change them (docs/sources.md, "Event id and type").
   */
  providerId?: string
  /** Event type the provider stated in the body (Stripe's `type`), when it was parsed anyway. */
  eventType?: string
  /** Answer the sender expects instead of the usual 200 (Slack's url_verification); not journaled. */
  reply?: { status: number; contentType: string; body: string }
}

export interface IngestSource {
  readonly name: string
  /** Rate limit check, before the body is read. Rejection carries retryAfterSeconds. */
  admit(clientAddress: string): Rejection | null
  verify(request: RequestView): Verified | Rejection
}
