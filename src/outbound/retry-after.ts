/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, turned into a delay the
 * dispatcher can honour. A receiver's hint, bounded so that it can neither hammer us (a `0`
 * waits at least 1 s) nor park a delivery for a day (anything past 1 h waits 1 h). A value
 * more than 7 days away is taken for a broken header (epoch milliseconds sent as seconds,
 * a wrong year) and ignored like garbage, so the delivery keeps its own schedule.
 */

export const RETRY_AFTER_MIN_MS = 1_000
export const RETRY_AFTER_MAX_MS = 3_600_000
/** Beyond this the header is ignored rather than clamped. */
export const RETRY_AFTER_ABSURD_MS = 7 * 86_400_000

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const TIME = String.raw`(\d{2}):(\d{2}):(\d{2})`
// The three HTTP-date forms a recipient must accept: IMF-fixdate, RFC 850, asctime.
const IMF = new RegExp(String.raw`^[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) ${TIME} gmt$`)
const RFC850 = new RegExp(String.raw`^[a-z]{6,9}, (\d{2})-([a-z]{3})-(\d{2}) ${TIME} gmt$`)
const ASCTIME = new RegExp(String.raw`^[a-z]{3} ([a-z]{3}) ( \d|\d{2}) ${TIME} (\d{4})$`)

/** Milliseconds since the epoch of an HTTP-date, or null when it is not one. */
export function parseHttpDate(text: string): number | null {
  const s = text.trim().toLowerCase()
  let parts: [string, string, string, string, string, string] | null = null
  let m = IMF.exec(s)
  if (m) parts = [m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!]
  else if ((m = RFC850.exec(s))) {
    // Two-digit years: RFC 9110 says one more than 50 years ahead is in the past century.
    const yy = Number(m[3])
    const year = 2000 + yy > new Date().getUTCFullYear() + 50 ? 1900 + yy : 2000 + yy
    parts = [m[1]!, m[2]!, String(year), m[4]!, m[5]!, m[6]!]
  } else if ((m = ASCTIME.exec(s))) parts = [m[2]!.trim(), m[1]!, m[6]!, m[3]!, m[4]!, m[5]!]
  if (!parts) return null
  const [day, mon, year, h, min, sec] = parts
  const month = MONTHS.indexOf(mon)
  if (month < 0) return null
  const ms = Date.UTC(Number(year), month, Number(day), Number(h), Number(min), Number(sec))
  // Date.UTC rolls 31 Feb over into March; a date that does not round-trip is garbage.
  const d = new Date(ms)
  const exact = d.getUTCDate() === Number(day) && d.getUTCHours() === Number(h)
  return exact && Number(min) < 60 && Number(sec) < 61 ? ms : null
}

/**
 * The delay a `Retry-After` header asks for, in ms within [RETRY_AFTER_MIN_MS,
 * RETRY_AFTER_MAX_MS]; undefined when absent, repeated, garbage, negative, fractional, a date
 * in the past, or absurdly far away.
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  nowMs: number,
): number | undefined {
  const text = typeof value === 'string' ? value : value?.length === 1 ? value[0] : undefined
  if (text === undefined) return undefined
  let delay: number
  if (/^\s*\d+\s*$/.test(text)) delay = Number(text) * 1000
  else {
    const at = parseHttpDate(text)
    if (at === null || at < nowMs) return undefined
    delay = at - nowMs
  }
  if (!Number.isFinite(delay) || delay > RETRY_AFTER_ABSURD_MS) return undefined
  return Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, delay))
}
