import { createHash } from 'node:crypto'
import type { Message } from '@aws-sdk/client-sqs'
import type { WebhookEvent } from '../../event.js'

/**
 * The SQS envelope: the message body is base64 of a frame
 *   [4-byte big-endian length of M][M = metadata JSON][raw body bytes]
 * SQS bodies must be valid Unicode text, so raw bytes cannot go in as they are; base64 keeps the
 * exact bytes and is counted the same way by SQS, ElasticMQ and fauxqs (a Binary message
 * attribute would also work on AWS but emulators count its base64 form, so its limit would
 * differ between test and production). Cost: 4/3 of the body.
 */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576
/** Upper bound of the metadata JSON beyond what eventBytes() counts (keys, braces, the time). */
const FIXED_META = 128

/**
 * Largest event, as eventBytes() measures it (the HTTP server refuses larger ones with 413
 * event_too_large), whose envelope still fits one SQS message.
 */
export const SQS_MAX_EVENT_BYTES = Math.floor(SQS_MAX_MESSAGE_BYTES / 4) * 3 - 4 - FIXED_META

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
    id: m.MessageId || `sha256:${createHash('sha256').update(body).digest('hex')}`,
    source: 'unknown',
    receivedAt: Date.now(),
    contentType: 'text/plain',
    headers: {},
    body,
    verifiedBy: null,
  }
}
