import type { Message } from '@aws-sdk/client-sqs'
import type { WebhookEvent } from '../../event.js'
import {
  decodeEnvelope as decodeEnvelopeV2,
  encodeEnvelope as encodeEnvelopeV2,
  isEnvelope,
} from '../envelope/codec.js'
import { largestEventIn, rawMessageId, type EnvelopeLimits } from '../envelope/pack.js'

/**
 * SQS message bodies: base64 of an envelope (many events, ../envelope/codec.ts). SQS bodies
 * must be valid Unicode text, so raw bytes cannot go in as they are; base64 keeps the exact
 * bytes and is counted the same way by SQS, ElasticMQ and fauxqs (a Binary message attribute
 * would also work on AWS but emulators count its base64 form, so its limit would differ between
 * test and production). Cost: 4/3 of the bytes. Sluice 0.1 sent one event per message as
 * base64 of [4-byte length of M][M = metadata JSON][raw body]; that is still read.
 */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576
/** Bytes of envelope that fit one SQS message once base64-encoded. */
const MAX_ENVELOPE_BYTES = Math.floor(SQS_MAX_MESSAGE_BYTES / 4) * 3

/**
 * Largest event, as eventBytes() measures it (the HTTP server refuses larger ones with 413
 * event_too_large), whose envelope of one still fits one SQS message.
 */
export const SQS_MAX_EVENT_BYTES = largestEventIn(MAX_ENVELOPE_BYTES)

/** Envelope limits within one SQS message, tightened by the configured ones. */
export const sqsEnvelopeLimits = (maxEvents: number, maxBytes: number): EnvelopeLimits => ({
  maxEvents,
  maxBytes: Math.min(maxBytes, MAX_ENVELOPE_BYTES),
})

/** The body of one SQS message carrying `events`: base64 of an envelope (format version 2). */
export function encodeSqsBody(events: readonly WebhookEvent[]): string {
  return encodeEnvelopeV2(events).toString('base64')
}

/** The events of a message body: an envelope (version 2) or Sluice 0.1's frame (version 1). */
export function decodeSqsBody(text: string): WebhookEvent[] {
  const data = Buffer.from(text, 'base64')
  return isEnvelope(data) ? decodeEnvelopeV2(data) : [decodeEnvelope(text)]
}

/** Sluice 0.1's frame, one event per message (still read; written by tests of the upgrade). */
export function encodeEnvelope(e: WebhookEvent): string {
  const meta = Buffer.from(
    JSON.stringify({
      v: 1,
      id: e.id,
      source: e.source,
      receivedAt: e.receivedAt,
      contentType: e.contentType,
      headers: e.headers,
      verifiedBy: e.verifiedBy,
    }),
  )
  const len = Buffer.alloc(4)
  len.writeUInt32BE(meta.length)
  return Buffer.concat([len, meta, e.body]).toString('base64')
}

/** Throws when the body was not written by encodeEnvelope(). */
export function decodeEnvelope(text: string): WebhookEvent {
  const frame = Buffer.from(text, 'base64')
  if (frame.length < 4) throw new Error('not a Sluice envelope: too short')
  const n = frame.readUInt32BE(0)
  if (4 + n > frame.length) throw new Error('not a Sluice envelope: bad metadata length')
  const m = JSON.parse(frame.subarray(4, 4 + n).toString('utf8')) as Record<string, unknown>
  if (m.v !== 1 || typeof m.id !== 'string' || typeof m.source !== 'string') {
    throw new Error('not a Sluice envelope: unknown version or missing id/source')
  }
  return {
    id: m.id,
    source: m.source,
    receivedAt: Number(m.receivedAt),
    contentType: String(m.contentType),
    headers: (m.headers ?? {}) as Record<string, string>,
    body: Buffer.from(frame.subarray(4 + n)),
    verifiedBy: typeof m.verifiedBy === 'string' ? m.verifiedBy : null,
  }
}

/** A message decodeEnvelope() refuses, kept as it came: its body text, id from the MessageId. */
export function rawSqsEvent(m: Message): WebhookEvent {
  const body = Buffer.from(m.Body ?? '')
  return {
    id: rawMessageId(m.MessageId, body),
    source: 'unknown',
    receivedAt: Date.now(),
    contentType: 'text/plain',
    headers: {},
    body,
    verifiedBy: null,
  }
}
