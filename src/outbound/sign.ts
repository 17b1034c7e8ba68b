import { createHmac, randomBytes } from 'node:crypto'

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, symmetric `v1` only): the HMAC-
 * SHA256 of `<id>.<timestamp>.<body>` over the body's exact bytes, keyed by the base64-decoded
 * part of a `whsec_` secret. The asymmetric `v1a` (Ed25519) is not offered: the contract defines
 * no public-key format for subscriptions, and no independent verifier was at hand to test it.
 */

const PREFIX = 'whsec_'
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** Standard Webhooks signature headers, lower-case as undici sends them. */
export interface SignatureHeaders {
  readonly 'webhook-id': string
  readonly 'webhook-timestamp': string
  readonly 'webhook-signature': string
}

/** A new secret: `whsec_` and 32 random bytes in base64 (the spec asks for 24 to 64). */
export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString('base64')
}

/**
 * The HMAC key of a `whsec_<base64>` secret. Throws a TypeError (which never quotes the
 * secret) when it is not one.
 */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : null
  if (encoded === null || encoded.length % 4 !== 0 || !BASE64.test(encoded)) {
    throw new TypeError('a webhook secret must be whsec_ followed by base64')
  }
  return Buffer.from(encoded, 'base64')
}

/** `v1,<base64>` for one secret. */
export function signature(
  id: string,
  timestampSeconds: number,
  body: Buffer,
  secret: string,
): string {
  const mac = createHmac('sha256', secretKey(secret))
  mac.update(`${id}.${timestampSeconds}.`, 'utf8')
  mac.update(body)
  return `v1,${mac.digest('base64')}`
}

/**
 * The three headers of one attempt. `secrets` are every secret valid now (two during a
 * rotation's grace period): one signature each, space-separated, so a receiver holding either
 * verifies. `timestampSeconds` is the attempt's own time, so a retry is not stale.
 */
export function signHeaders(
  id: string,
  timestampSeconds: number,
  body: Buffer,
  secrets: readonly string[],
): SignatureHeaders {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError('timestampSeconds must be a non-negative integer (unix seconds)')
  }
  if (secrets.length === 0) throw new TypeError('signHeaders needs at least one secret')
  // The id is a header value and the first field of the signed content: visible ASCII only.
  if (!/^[\x21-\x7e]+$/.test(id)) throw new TypeError('the webhook id must be visible ASCII')
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((s) => signature(id, timestampSeconds, body, s)).join(' '),
  }
}
