import { createHash } from 'node:crypto'
import type { Options, MessageProperties } from 'amqplib'
import type { WebhookEvent } from '../../event.js'

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
})

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
  const id = str(props.messageId) || `sha256:${createHash('sha256').update(body).digest('hex')}`
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

/** Copy of the headers for a re-publish, without what RabbitMQ adds on delivery and dead-lettering. */
export function cleanHeaders(
  props: MessageProperties,
  drop: readonly string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(props.headers ?? {})) {
    if (k.startsWith('x-') || drop.includes(k)) continue
    out[k] = v
  }
  return out
}

export function republishOptions(
  props: MessageProperties,
  headers: Record<string, unknown>,
): Options.Publish {
  return {
    persistent: true,
    messageId: str(props.messageId),
    contentType: str(props.contentType),
    timestamp: typeof props.timestamp === 'number' ? props.timestamp : undefined,
    headers,
  }
}
