import { ErrorCodes } from '../errors.js'
import type { Rejection } from './types.js'

type VerifyCode = 'signature_missing' | 'signature_mismatch' | 'timestamp_out_of_tolerance'

/**
 * A 401 for a request whose signature does not check out. `detail` names the header or the
 * reason; callers pass only header names and numbers, never secrets or signature values, so the
 * message is safe to send back and to log.
 */
export function unauthorized(code: VerifyCode, detail: string): Rejection {
  return { ok: false, status: 401, code, message: `${ErrorCodes[code].message}: ${detail}` }
}

/** A 429 telling the client how long to wait (whole seconds, at least 1). */
export function rateLimited(retryAfterSeconds: number, scope: string): Rejection {
  return {
    ok: false,
    status: 429,
    code: 'rate_limited',
    message: `${ErrorCodes.rate_limited.message} (${scope}); retry after ${retryAfterSeconds}s`,
    retryAfterSeconds,
  }
}
