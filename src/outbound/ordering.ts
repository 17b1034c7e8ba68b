/**
 * A subscription's `ordering` (contract: "ordering"): `{"key": "<JSON pointer>"}` into the
 * event's JSON body. Deliveries of events with the same value there go one at a time, in the
 * order Sluice received the events (src/db/ordering.ts). The pointer (RFC 6901) becomes the path
 * Postgres's #> operator takes, so the store statement reads the key in place.
 */

/** A pointer that cannot be used. */
export class PointerError extends Error {
  override name = 'PointerError'
}

const MAX_LENGTH = 256
const MAX_SEGMENTS = 32

/** `/customer/id` as `["customer","id"]`; `~1` is `/` and `~0` is `~`. Throws PointerError. */
export function parsePointer(pointer: string): string[] {
  if (!pointer.startsWith('/')) {
    throw new PointerError('must be a JSON pointer starting with / (e.g. /customer/id)')
  }
  if (pointer.length > MAX_LENGTH || pointer.includes('\u0000')) {
    throw new PointerError(`must be at most ${MAX_LENGTH} characters, without NUL`)
  }
  const segments = pointer.slice(1).split('/')
  if (segments.length > MAX_SEGMENTS) {
    throw new PointerError(`must have at most ${MAX_SEGMENTS} segments`)
  }
  if (segments.some((s) => /~(?![01])/.test(s))) {
    throw new PointerError('may use ~ only as ~0 (for ~) or ~1 (for /)')
  }
  return segments.map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
}
