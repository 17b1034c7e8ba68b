import { randomUUID } from 'node:crypto'
import type { Options, MessageProperties } from 'amqplib'
import type { WebhookEvent } from '../../event.js'
import { decodeEnvelope, encodeEnvelope } from '../envelope/codec.js'
import { rawMessageId } from '../envelope/pack.js'

/**
 * An event as an AMQP message: the body is the raw bytes received, the metadata rides in
 * headers (strings only, so numbers survive every client library unchanged) and in the
 * standard properties (messageId = event id, contentType, timestamp).
 */
export const H = Object.freeze({
  id: 'sluice-id',
  source: 'sluice-source',
  receivedAt: 'sluice-received-at',
  verifiedBy: 'sluice-verified-by',
  headers: 'sluice-headers',
  /** Attempt number the next delivery of this copy is (retry copies carry it). */
  attempt: 'sluice-attempt',
  /** Sluice 0.1 wrote these on dead letters (read when importing them). */
  error: 'sluice-error',
  deadAt: 'sluice-dead-at',
  /** `2` on an envelope (many events in the body; see ../envelope/codec.ts). */
  envelope: 'sluice-envelope',
})

export const ENVELOPE_CONTENT_TYPE = 'application/vnd.sluice.envelope'

/** One broker message carrying `events` as an envelope (format version 2). */
export function encodeMessage(
  events: readonly WebhookEvent[],
  extra: Record<string, string> = {},
): { body: Buffer; options: Options.Publish } {
  const first = events[0]
  return {
    body: encodeEnvelope(events),
    options: {
      persistent: true,
      messageId: events.length === 1 && first ? first.id : randomUUID(),
      contentType: ENVELOPE_CONTENT_TYPE,
      timestamp: Math.floor((first?.receivedAt ?? Date.now()) / 1000),
      headers: { [H.envelope]: '2', ...extra },
    },
  }
}

/**
 * The events of a message: an envelope (version 2), or one event in Sluice 0.1's format
 * (version 1, metadata in headers). Throws when it is neither (a foreign publisher).
 */
export function decodeMessage(body: Buffer, props: MessageProperties): WebhookEvent[] {
  const h = (props.headers ?? {}) as Record<string, unknown>
  if (str(h[H.envelope]) === '2') return decodeEnvelope(body)
  return [decode(body, props)]
}

/** Sluice 0.1's format, one event per message (still read; written by tests of the upgrade). */
export function encode(event: WebhookEvent, extra: Record<string, string> = {}): Options.Publish {
  const headers: Record<string, string> = {
    [H.id]: event.id,
    [H.source]: event.source,
    [H.receivedAt]: String(event.receivedAt),
    [H.headers]: JSON.stringify(event.headers),
    ...extra,
  }
  if (event.verifiedBy !== null) headers[H.verifiedBy] = event.verifiedBy
  return {
    persistent: true,
    messageId: event.id,
    contentType: event.contentType,
    timestamp: Math.floor(event.receivedAt / 1000),
    headers,
  }
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined

/** Throws when the message was not written by encode() (a foreign publisher). */
export function decode(body: Buffer, props: MessageProperties): WebhookEvent {
  const h = (props.headers ?? {}) as Record<string, unknown>
  const id = str(h[H.id]) ?? str(props.messageId)
  const source = str(h[H.source])
  const receivedAt = Number(str(h[H.receivedAt]))
  const headersJson = str(h[H.headers])
  if (!id || !source || !Number.isFinite(receivedAt) || headersJson === undefined) {
    throw new Error('not a Sluice message: missing sluice-id/source/received-at/headers')
  }
  return {
    id,
    source,
    receivedAt,
    contentType: str(props.contentType) ?? 'application/octet-stream',
    headers: JSON.parse(headersJson) as Record<string, string>,
    body,
    verifiedBy: str(h[H.verifiedBy]) ?? null,
  }
}

/** A message decode() refuses, kept as it came: its body, and an id from messageId or a hash. */
export function rawEvent(body: Buffer, props: MessageProperties): WebhookEvent {
  const id = rawMessageId(str(props.messageId), body)
  return {
    id,
    source: 'unknown',
    receivedAt: typeof props.timestamp === 'number' ? props.timestamp * 1000 : Date.now(),
    contentType: str(props.contentType) ?? 'application/octet-stream',
    headers: {},
    body,
    verifiedBy: null,
  }
}
