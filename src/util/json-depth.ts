/**
 * How deep JSON nests, from its bytes: the embedded database (PGlite 0.5) answers a jsonb cast of
 * JSON nested 30,000 levels with no rows and no error, and Postgres refuses 100,000 (54001), so
 * whatever reaches a jsonb column is checked here first (workers/insert.ts, the admin API).
 */

/**
 * Whether the JSON text in `body` nests arrays and objects deeper than `max` levels, from the
 * bytes (strings skipped; malformed text answers false). A body of at most 2 × max bytes cannot,
 * so the usual webhook is not scanned.
 */
export function nestedDeeperThan(body: Uint8Array, max: number): boolean {
  if (body.length <= 2 * max) return false
  let depth = 0
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (c === 0x22) {
      // To the closing quote: the next one not escaped by an odd run of backslashes.
      for (;;) {
        i = body.indexOf(0x22, i + 1)
        if (i < 0) return false
        let k = i - 1
        while (body[k] === 0x5c) k--
        if ((i - 1 - k) % 2 === 0) break
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}
