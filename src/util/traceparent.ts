/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `version-traceid-parentid-flags`, lower-case hex. Read here without the OpenTelemetry SDK so
 * that the event path can check an incoming header without loading it.
 */
export interface TraceParent {
  traceId: string
  spanId: string
  /** The trace-flags byte (bit 0: sampled). */
  flags: number
}

// Version 00 is exactly 55 characters; a later version may append fields after a dash, which a
// version-00 reader ignores (the spec's rule). Version ff is invalid.
const SHAPE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/** The parts of a valid traceparent; null when absent or invalid (then a new trace begins). */
export function parseTraceparent(header: string | undefined | null): TraceParent | null {
  if (header === undefined || header === null) return null
  const m = SHAPE.exec(header.trim())
  if (!m) return null
  const [, version, traceId, spanId, flags, rest] = m
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null
  return { traceId: traceId!, spanId: spanId!, flags: parseInt(flags!, 16) }
}

/**
 * What may be stored as an event's traceparent (events.traceparent): a valid one, at most 55
 * characters (a later version's extra fields dropped: version 00 is what Sluice continues);
 * null for anything else. Decoders pass on what the broker or queue held, which a node with
 * tracing off never checked, so the row is where an unbounded or malformed value stops.
 */
export function storableTraceparent(value: string | undefined): string | null {
  if (value === undefined) return null
  const p = parseTraceparent(value)
  if (!p) return null
  // Already in the stored form: kept as it is (no new string per event).
  return value.length === 55 && value.startsWith('00-') ? value : formatTraceparent(p)
}

/** The version-00 header for a span. */
export function formatTraceparent(p: TraceParent): string {
  return `00-${p.traceId}-${p.spanId}-${(p.flags & 0xff).toString(16).padStart(2, '0')}`
}
