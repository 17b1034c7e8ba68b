import { hmac, safeEqual, type HmacAlgorithm } from '../crypto.js'
import { unauthorized } from '../reject.js'
import type { Verifier } from './types.js'

export interface HmacVerifierOptions {
  /** Header carrying the signature, any case. */
  header: string
  algorithm: HmacAlgorithm
  encoding: 'hex' | 'base64'
  /** Text before the encoded digest in the header (`sha256=` for GitHub); may be empty. */
  prefix: string
  /** Secrets used as given (UTF-8 bytes); any one of them verifies (rotation). */
  secrets: readonly string[]
  /** Name reported as `verifiedBy`. */
  scheme: string
}

/** HMAC of the raw body, encoded, in one header: the generic scheme, GitHub's and Shopify's. */
export function hmacVerifier(options: HmacVerifierOptions): Verifier {
  const { algorithm, encoding, prefix, scheme } = options
  const header = options.header.toLowerCase()
  const keys = options.secrets.map((s) => Buffer.from(s, 'utf8'))
  const verified = Object.freeze({ ok: true as const, verifiedBy: scheme })
  return ({ headers, body }) => {
    const value = headers[header]
    if (!value) return unauthorized('signature_missing', `header ${options.header} is absent`)
    if (!value.startsWith(prefix)) {
      return unauthorized(
        'signature_missing',
        `header ${options.header} does not start with ${prefix}`,
      )
    }
    const raw = value.slice(prefix.length).trim()
    // Hex digits are case-insensitive; base64 is not.
    const candidate = encoding === 'hex' ? raw.toLowerCase() : raw
    for (const key of keys) {
      const expected = Buffer.from(hmac(algorithm, key, [body]).toString(encoding), 'latin1')
      if (safeEqual(expected, candidate)) return verified
    }
    return unauthorized('signature_mismatch', `header ${options.header} does not match the body`)
  }
}
