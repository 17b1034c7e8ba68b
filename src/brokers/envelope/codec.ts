import type { WebhookEvent } from '../../event.js'

/**
 * The envelope (format version 2): many events in one broker message, because the broker's
 * cost is per message, not per byte (RabbitMQ quorum with confirms: 8.3k events/s at one event
 * per message, 20.6k at 10). Binary, so bodies keep their exact bytes:
 *
 *   "SLv2" | u32 count | count × ( u32 metaLength | meta JSON | u32 bodyLength | body )
 *
 * Version 1 (Sluice 0.1: one event per message, its metadata in AMQP headers or an SQS frame)
 * is still read by each adapter; the magic tells the two apart (a v1 SQS frame starts with a
 * metadata length, far below 0x534c7632).
 */
const MAGIC = Buffer.from('SLv2', 'latin1')
const HEADER_BYTES = MAGIC.length + 4
/** Bytes an event adds beyond eventBytes(): two lengths and the JSON keys, braces, time. */
export const ENVELOPE_BYTES_PER_EVENT = 8 + 128
export const ENVELOPE_HEADER_BYTES = HEADER_BYTES

interface Meta {
  id: string
  source: string
  receivedAt: number
  contentType: string
  headers: Record<string, string>
  verifiedBy: string | null
  /** Only when the event carries one (tracing on at receipt). */
  traceparent?: string
}

export function encodeEnvelope(events: readonly WebhookEvent[]): Buffer {
  const parts: Buffer[] = [MAGIC, u32(events.length)]
  for (const e of events) {
    const meta: Meta = {
      id: e.id,
      source: e.source,
      receivedAt: e.receivedAt,
      contentType: e.contentType,
      headers: e.headers,
      verifiedBy: e.verifiedBy,
    }
    if (e.traceparent !== undefined) meta.traceparent = e.traceparent
    const json = Buffer.from(JSON.stringify(meta))
    parts.push(u32(json.length), json, u32(e.body.length), e.body)
  }
  return Buffer.concat(parts)
}

/** True when `data` starts like an envelope (it may still be malformed past the magic). */
export function isEnvelope(data: Uint8Array): boolean {
  return data.length >= HEADER_BYTES && MAGIC.equals(data.subarray(0, MAGIC.length))
}

/** The events of an envelope; throws with what is wrong when it is not a whole, valid one. */
export function decodeEnvelope(data: Buffer): WebhookEvent[] {
  if (!isEnvelope(data)) throw new Error('not a Sluice envelope: bad magic')
  const count = data.readUInt32BE(MAGIC.length)
  const events: WebhookEvent[] = []
  let at = HEADER_BYTES
  const take = (n: number, what: string) => {
    if (at + n > data.length)
      throw new Error(`truncated envelope: ${what} of event ${events.length}`)
    const slice = data.subarray(at, at + n)
    at += n
    return slice
  }
  while (events.length < count) {
    const meta = JSON.parse(take(take(4, 'meta length').readUInt32BE(0), 'meta').toString()) as Meta
    if (typeof meta.id !== 'string' || typeof meta.source !== 'string') {
      throw new Error(`envelope event ${events.length} has no id or source`)
    }
    // A view, not a copy: the events of one message are stored, settled and dropped together,
    // and the store threads get the bodies packed into a buffer of their own (packBodies), so
    // nothing clones the message through a view. A copy per body was an ArrayBuffer per event,
    // which the pipeline thread's full GCs had to find and free.
    const body = take(take(4, 'body length').readUInt32BE(0), 'body')
    const event: WebhookEvent = {
      id: meta.id,
      source: meta.source,
      receivedAt: Number(meta.receivedAt),
      contentType: String(meta.contentType ?? ''),
      headers: meta.headers ?? {},
      body,
      verifiedBy: typeof meta.verifiedBy === 'string' ? meta.verifiedBy : null,
    }
    // Set only when present: no spread object per event. Stored only when valid (toRow).
    if (typeof meta.traceparent === 'string') event.traceparent = meta.traceparent
    events.push(event)
  }
  if (at !== data.length) throw new Error('envelope has bytes after its last event')
  return events
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
