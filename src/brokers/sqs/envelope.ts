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
/** Room kept for the message attributes a dead-letter copy carries (error, attempts, time). */
export const ATTRIBUTE_RESERVE = 8192
/** Upper bound of the metadata JSON beyond what eventBytes() counts (keys, braces, the time). */
const FIXED_META = 128
/**
 * Room for metadata that a cruder measure of the event leaves out: the HTTP server counts
 * body + JSON(headers) only, while the envelope also carries the id (at most 256 characters,
 * 1.5 KiB JSON-escaped), source, content type (a header, so at most the server's header limit)
 * and verifiedBy.
 */
const METADATA_RESERVE = 16 * 1024
const MAX_ERROR_CHARS = 1024

/**
 * Largest event (body + JSON of its headers, or eventBytes()) whose envelope plus a
 * dead-letter's attributes still fit one SQS message.
 */
export const SQS_MAX_EVENT_BYTES =
  Math.floor((SQS_MAX_MESSAGE_BYTES - ATTRIBUTE_RESERVE) / 4) * 3 -
  4 -
  FIXED_META -
  METADATA_RESERVE

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

export const truncateError = (error: string) =>
  error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS - 1)}…` : error

/** Size as SQS counts it: body plus each attribute's name, type and value. */
export function messageBytes(
  body: string,
  attributes: Record<string, { DataType: string; StringValue?: string }> = {},
): number {
  let n = Buffer.byteLength(body)
  for (const [k, a] of Object.entries(attributes)) {
    n +=
      Buffer.byteLength(k) + Buffer.byteLength(a.DataType) + Buffer.byteLength(a.StringValue ?? '')
  }
  return n
}
