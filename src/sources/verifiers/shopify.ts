import type { Verifier } from './types.js'
import { hmacVerifier } from './hmac.js'

/** Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`. */
export function shopifyVerifier(secrets: readonly string[]): Verifier {
  return hmacVerifier({
    header: 'X-Shopify-Hmac-Sha256',
    algorithm: 'sha256',
    encoding: 'base64',
    prefix: '',
    secrets,
    scheme: 'shopify',
  })
}
