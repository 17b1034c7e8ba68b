import type { Verifier } from './types.js'
import { hmacVerifier } from './hmac.js'

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. */
export function githubVerifier(secrets: readonly string[]): Verifier {
  return hmacVerifier({
    header: 'X-Hub-Signature-256',
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: 'sha256=',
    secrets,
    scheme: 'github',
  })
}
