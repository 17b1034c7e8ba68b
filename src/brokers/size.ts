import type { WebhookEvent } from '../event.js'

const json = (s: string) => Buffer.byteLength(JSON.stringify(s))

/**
 * The size of an event as the brokers' `features.maxEventBytes` measures it: body bytes plus
 * every string of metadata counted as its JSON encoding (quotes and escapes included), because
 * that is what the SQS envelope carries. The HTTP server compares this to maxEventBytes and
 * answers 413 event_too_large above it, so a journaled event always fits the broker.
 */
export function eventBytes(event: WebhookEvent): number {
  let n = event.body.length + json(event.id) + json(event.source) + json(event.contentType)
  n += event.verifiedBy === null ? 4 : json(event.verifiedBy)
  for (const [k, v] of Object.entries(event.headers)) n += json(k) + json(v) + 2
  return n
}
