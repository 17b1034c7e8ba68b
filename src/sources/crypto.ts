import { createHmac, timingSafeEqual } from 'node:crypto'

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512'

/** HMAC over several parts without concatenating them (the body can be large). */
export function hmac(algorithm: HmacAlgorithm, key: Buffer, parts: readonly (string | Buffer)[]) {
  const h = createHmac(algorithm, key)
  for (const part of parts) h.update(part)
  return h.digest()
}

/**
 * Constant-time comparison of a computed digest (already encoded, ASCII) with a candidate from
 * a header. Lengths are compared first because timingSafeEqual throws on unequal lengths; the
 * length of a valid signature is public anyway. UTF-8, not latin1: latin1 keeps only the low byte
 * of each character, so a non-ASCII look-alike could pass for a digit.
 */
export function safeEqual(expected: Buffer, candidate: string): boolean {
  const given = Buffer.from(candidate, 'utf8')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** True when any candidate equals the expected encoded digest; checks every candidate. */
export function anyEqual(expected: Buffer, candidates: readonly string[]): boolean {
  let found = false
  // No early exit: the time taken must not reveal which candidate matched.
  for (const c of candidates) found = safeEqual(expected, c) || found
  return found
}

/**
 * Timestamp check shared by the schemes that sign one (Stripe, Slack, Standard Webhooks).
 * Returns null when `header` is a whole number of seconds within `toleranceSeconds` of `nowMs`
 * in either direction, else the reason (no secret or signature in it).
 */
export function checkTimestamp(
  header: string,
  nowMs: number,
  toleranceSeconds: number,
): string | null {
  if (!/^\d{1,15}$/.test(header)) return 'the timestamp is not a whole number of seconds'
  const skew = Math.abs(nowMs / 1000 - Number(header))
  return skew > toleranceSeconds
    ? `the timestamp is ${Math.round(skew)}s away from now (tolerance ${toleranceSeconds}s)`
    : null
}
