/**
 * One webhook event as it travels the pipeline: journal entry -> broker message -> worker -> row.
 * The body is the exact bytes received; headers are lower-cased.
 */
export interface WebhookEvent {
  /** Event id (contract: Idempotency-Key, sender's delivery id, else UUIDv7). */
  id: string
  /** Source name (`default` for `POST /webhook`). */
  source: string
  /** When the journal committed the event, in milliseconds since the epoch. */
  receivedAt: number
  contentType: string
  headers: Record<string, string>
  /**
   * Often a view into a larger buffer (a broker message decoded by envelope/codec.ts, Node's
   * pool): to send events to another thread, pack their bodies (util/packed-bodies.ts) rather
   * than cloning the events, which would copy every buffer behind the views whole.
   */
  body: Buffer
  /** Signature scheme that verified the event (`github`, `stripe`, ...), null when unsigned. */
  verifiedBy: string | null
  /**
   * W3C traceparent of the span this event's next step continues (tracing on: src/tracing).
   * Absent when tracing was off at receipt; then no span is ever made for it.
   */
  traceparent?: string
}

/** A WebhookEvent as it arrives in a worker thread: structured clone turns Buffers into Uint8Arrays. */
export type StorableEvent = Omit<WebhookEvent, 'body'> & { body: Uint8Array }

/** What processing did with one event: stored (or found stored already), or failed. */
export type EventOutcome =
  | { ok: true; inserted: boolean }
  | {
      ok: false
      error: string
      /** True when retrying cannot help (the event's own data): dead-letter it at once. */
      permanent: boolean
    }

/** An outcome with the time its commit finished (ms since the epoch). */
export type EventResult = EventOutcome & { processedAt: number }

/**
 * The source of Sluice's own operational events (src/db/operational-events.ts): no webhook
 * source may take this name, and only subscriptions that name it receive them.
 */
export const OPERATIONAL_SOURCE = 'sluice'

/** The key of an event everywhere it is stored: one row per (source, id). */
export interface EventKey {
  source: string
  id: string
}

/** Printable ASCII that JSON writes as it is (no quote, no backslash): one byte per character. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/**
 * Bytes of `s` as a JSON string, quotes included. Nearly every id, header name and value is
 * plain ASCII, whose size is its length plus the quotes: a regular-expression test instead of
 * JSON.stringify and Buffer.byteLength per string, 3.1 -> 0.9 µs for an event with 13 headers
 * (each event is measured at ingest and again when packed into an envelope).
 */
export const jsonStringBytes = (s: string): number =>
  PLAIN_JSON.test(s) ? s.length + 2 : Buffer.byteLength(JSON.stringify(s))

/**
 * The size of an event as the brokers' `features.maxEventBytes` measures it: body bytes plus
 * every string of metadata counted as its JSON encoding (quotes and escapes included), because
 * that is what the SQS envelope carries. The HTTP server answers 413 event_too_large above
 * maxEventBytes, so a journaled event always fits the broker.
 */
export function eventBytes(event: Omit<WebhookEvent, 'receivedAt'>): number {
  const json = jsonStringBytes
  let n = event.body.length + json(event.id) + json(event.source) + json(event.contentType)
  n += event.verifiedBy === null ? 4 : json(event.verifiedBy)
  const headers = event.headers
  for (const k in headers) n += json(k) + json(headers[k]!) + 2
  // The traceparent rides in the envelope's metadata with its key ("traceparent":).
  if (event.traceparent !== undefined) n += json(event.traceparent) + 16
  return n
}
