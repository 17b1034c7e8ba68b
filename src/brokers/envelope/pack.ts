import { createHash } from 'node:crypto'
import { eventBytes, type WebhookEvent } from '../../event.js'
import { ENVELOPE_BYTES_PER_EVENT, ENVELOPE_HEADER_BYTES } from './codec.js'

/** How many events go into one broker message. */
export interface EnvelopeLimits {
  /** Events per message at most (SLUICE_ENVELOPE_EVENTS). */
  maxEvents: number
  /** Envelope bytes per message at most (SLUICE_ENVELOPE_BYTES, and the broker's own limit). */
  maxBytes: number
}

/**
 * Group events, in order, into envelopes within the limits. An event that alone exceeds
 * maxBytes still gets an envelope of its own (ingest already refused events the broker cannot
 * carry). Returns the groups as index lists into `events`.
 */
export function packEnvelopes(events: readonly WebhookEvent[], limits: EnvelopeLimits): number[][] {
  const groups: number[][] = []
  let current: number[] = []
  let bytes = ENVELOPE_HEADER_BYTES
  events.forEach((e, i) => {
    const size = eventBytes(e) + ENVELOPE_BYTES_PER_EVENT
    if (
      current.length > 0 &&
      (current.length >= limits.maxEvents || bytes + size > limits.maxBytes)
    ) {
      groups.push(current)
      current = []
      bytes = ENVELOPE_HEADER_BYTES
    }
    current.push(i)
    bytes += size
  })
  if (current.length > 0) groups.push(current)
  return groups
}

/** The largest event (as eventBytes counts it) whose envelope of one fits `maxMessageBytes`. */
export const largestEventIn = (maxMessageBytes: number) =>
  maxMessageBytes - ENVELOPE_HEADER_BYTES - ENVELOPE_BYTES_PER_EVENT

/**
 * Messages to hold unacked for a consumer that wants `events` deliveries in flight. Full
 * envelopes need ceil(events / maxEvents); the floor of 32 keeps a backlog of single-event
 * messages (Sluice 0.1's, or short envelopes at low load) flowing at a useful rate, at the
 * price of up to 32 × maxEvents events in flight when envelopes are full.
 */
export const messagePrefetch = (events: number, maxEvents: number) =>
  Math.max(32, Math.ceil(events / maxEvents))

/** One boolean per event from one per message: an event is confirmed when its message is. */
export function perEvent(groups: readonly number[][], perMessage: readonly boolean[]): boolean[] {
  const results: boolean[] = []
  groups.forEach((g, m) => g.forEach((i) => (results[i] = perMessage[m] === true)))
  return Array.from(results, (r) => r === true)
}

/** The id of a message Sluice cannot decode: the broker's message id, else a hash of the body. */
export const rawMessageId = (messageId: string | undefined, body: Buffer) =>
  messageId || `sha256:${createHash('sha256').update(body).digest('hex')}`
