import { anyEqual, checkTimestamp, hmac } from '../crypto.js'
import { unauthorized } from '../reject.js'
import type { Verified } from '../types.js'
import { DEFAULT_TOLERANCE_SECONDS, type Verifier, type VerifierClock } from './types.js'

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** The two header families: Standard Webhooks' own and Svix's (same scheme, older names). */
const FAMILIES = [
  { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' },
  { id: 'svix-id', timestamp: 'svix-timestamp', signature: 'svix-signature' },
] as const

/**
 * Standard Webhooks (and Svix): `webhook-signature` holds space-separated `v1,<base64>` where
 * each is HMAC-SHA256(key, "<id>.<ts>.<body>") and the key is the base64 after `whsec_`.
 * Other versions (`v1a,` asymmetric, future ones) are ignored, as the spec says.
 */
export function standardWebhooksVerifier(
  secrets: readonly string[],
  clock: VerifierClock,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  where = 'secret',
): Verifier {
  const keys = secrets.map((s, i) => decodeKey(s, `${where}[${i}]`))
  return ({ headers, body }) => {
    const names = headers['webhook-signature'] === undefined ? FAMILIES[1] : FAMILIES[0]
    const id = headers[names.id]
    const ts = headers[names.timestamp]
    const signature = headers[names.signature]
    if (!signature)
      return unauthorized(
        'signature_missing',
        'header webhook-signature (or svix-signature) is absent',
      )
    if (!id) return unauthorized('signature_missing', `header ${names.id} is absent`)
    if (!ts) return unauthorized('signature_missing', `header ${names.timestamp} is absent`)
    const candidates: string[] = []
    for (const s of signature.split(' ')) if (s.startsWith('v1,')) candidates.push(s.slice(3))
    if (candidates.length === 0) {
      return unauthorized('signature_missing', `${names.signature} has no v1 signature`)
    }
    const stale = checkTimestamp(ts, clock.now(), toleranceSeconds)
    if (stale) return unauthorized('timestamp_out_of_tolerance', `${names.timestamp}: ${stale}`)
    for (const key of keys) {
      const digest = hmac('sha256', key, [id, '.', ts, '.', body]).toString('base64')
      // The id is part of the signed content, so it is the event id (docs/sources.md, "Event id and type").
      if (anyEqual(Buffer.from(digest, 'latin1'), candidates)) return verified(id)
    }
    return unauthorized('signature_mismatch', `no v1 in ${names.signature} matches the body`)
  }
}

function verified(id: string): Verified {
  return { ok: true, verifiedBy: 'standard-webhooks', providerId: id }
}

/** `whsec_<base64>` (or bare base64) to key bytes; the error names where, never the secret. */
function decodeKey(secret: string, where: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret
  if (!BASE64.test(encoded)) {
    throw new TypeError(`${where} must be whsec_ followed by base64 (a Standard Webhooks secret)`)
  }
  return Buffer.from(encoded, 'base64')
}
