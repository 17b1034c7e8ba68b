import { checkTimestamp, hmac, safeEqual } from '../crypto.js'
import { unauthorized } from '../reject.js'
import type { Verified } from '../types.js'
import { DEFAULT_TOLERANCE_SECONDS, type Verifier, type VerifierClock } from './types.js'

const VERIFIED: Verified = Object.freeze({ ok: true, verifiedBy: 'slack' })
const HANDSHAKE_MARK = Buffer.from('url_verification')

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>` with
 * `X-Slack-Request-Timestamp` within the tolerance. Form-encoded bodies (slash commands,
 * `payload=` interactivity) are signed on their raw bytes like JSON ones, so nothing is decoded
 * before the check. A signed `url_verification` is answered with its challenge, not journaled.
 */
export function slackVerifier(
  secrets: readonly string[],
  clock: VerifierClock,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): Verifier {
  const keys = secrets.map((s) => Buffer.from(s, 'utf8'))
  return ({ headers, body }) => {
    const signature = headers['x-slack-signature']
    const ts = headers['x-slack-request-timestamp']
    if (!signature) return unauthorized('signature_missing', 'header X-Slack-Signature is absent')
    if (!ts) return unauthorized('signature_missing', 'header X-Slack-Request-Timestamp is absent')
    if (!signature.startsWith('v0=')) {
      return unauthorized('signature_missing', 'X-Slack-Signature has no v0= signature')
    }
    const stale = checkTimestamp(ts, clock.now(), toleranceSeconds)
    if (stale)
      return unauthorized('timestamp_out_of_tolerance', `X-Slack-Request-Timestamp: ${stale}`)
    const candidate = signature.toLowerCase()
    for (const key of keys) {
      const hex = hmac('sha256', key, ['v0:', ts, ':', body]).toString('hex')
      if (safeEqual(Buffer.from(`v0=${hex}`, 'latin1'), candidate))
        return handshake(body) ?? VERIFIED
    }
    return unauthorized('signature_mismatch', 'X-Slack-Signature does not match the body')
  }
}

/**
 * Slack's Events API handshake: `{"type":"url_verification","challenge":"..."}` must be answered
 * 200 with the challenge (plain text is one of the answers Slack accepts). The body is parsed
 * only when it can be one, so ordinary events pay nothing.
 */
function handshake(body: Buffer): Verified | null {
  if (body[0] !== 0x7b /* { */ || !body.includes(HANDSHAKE_MARK)) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return null
  }
  const { type, challenge } = (parsed ?? {}) as { type?: unknown; challenge?: unknown }
  if (type !== 'url_verification' || typeof challenge !== 'string') return null
  return {
    ok: true,
    verifiedBy: 'slack',
    reply: { status: 200, contentType: 'text/plain; charset=utf-8', body: challenge },
  }
}
