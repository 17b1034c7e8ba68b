import { anyEqual, checkTimestamp, hmac } from '../crypto.js'
import { unauthorized } from '../reject.js'
import type { Verified } from '../types.js'
import { DEFAULT_TOLERANCE_SECONDS, type Verifier, type VerifierClock } from './types.js'

/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]` where each v1 is
 * HMAC-SHA256(secret, "<t>.<body>"); the `whsec_` secret is used as given, not decoded. Several
 * v1 appear while Stripe rolls a secret. On success the body's `id` becomes the event id
 * (contract) and its `type` the event type.
 */
export function stripeVerifier(
  secrets: readonly string[],
  clock: VerifierClock,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): Verifier {
  const keys = secrets.map((s) => Buffer.from(s, 'utf8'))
  return ({ headers, body }) => {
    const header = headers['stripe-signature']
    if (!header) return unauthorized('signature_missing', 'header Stripe-Signature is absent')
    let t: string | undefined
    const v1: string[] = []
    for (const part of header.split(',')) {
      const eq = part.indexOf('=')
      const key = part.slice(0, eq).trim()
      const value = part.slice(eq + 1).trim()
      if (key === 't') t = value
      else if (key === 'v1') v1.push(value.toLowerCase())
    }
    if (t === undefined) return unauthorized('signature_missing', 'Stripe-Signature has no t=')
    if (v1.length === 0) return unauthorized('signature_missing', 'Stripe-Signature has no v1=')
    const stale = checkTimestamp(t, clock.now(), toleranceSeconds)
    if (stale) return unauthorized('timestamp_out_of_tolerance', `Stripe-Signature t=: ${stale}`)
    for (const key of keys) {
      const expected = Buffer.from(hmac('sha256', key, [t, '.', body]).toString('hex'), 'latin1')
      if (anyEqual(expected, v1)) return withEventFields(body)
    }
    return unauthorized('signature_mismatch', 'no v1= in Stripe-Signature matches the body')
  }
}

/** Stripe's event `id` and `type`; the body is parsed only here, after the signature held. */
function withEventFields(body: Buffer): Verified {
  const verified: Verified = { ok: true, verifiedBy: 'stripe' }
  let event: unknown
  try {
    event = JSON.parse(body.toString('utf8'))
  } catch {
    return verified // signed by Stripe but not JSON: keep it, with a generated id
  }
  if (event && typeof event === 'object') {
    const { id, type } = event as { id?: unknown; type?: unknown }
    if (typeof id === 'string' && id.length > 0) verified.providerId = id
    if (typeof type === 'string' && type.length > 0) verified.eventType = type
  }
  return verified
}
