import type { Logger } from '../log.js'
import { eventBytes } from '../event.js'
import type { Journal, NewEvent } from '../../journal/types.js'
import type { IngestSource } from '../sources/types.js'
import { readBody } from './body.js'
import type { ClientAddresses } from './client-address.js'
import { resolveEventId, MAX_EVENT_ID_LENGTH } from './event-id.js'
import type { RefusalLog } from './refusal-log.js'
import { Reply } from './respond.js'
import type { HttpRequest, HttpResponse } from './uws.js'
import type { EventTracer } from '../tracing/types.js'
import { receiveSpans } from './ingest-trace.js'

export interface IngestContext {
  journal: Journal
  sources: Map<string, IngestSource>
  maxBodyBytes: number
  maxEventBytes: number
  retryAfterSeconds: number
  logger: Logger
  /** Where refused requests are logged (sampled). */
  refusals: RefusalLog
  /** Client address of a request: the TCP peer, or X-Forwarded-For from a trusted proxy. */
  clients: ClientAddresses
  /** False once stopAccepting() was called. */
  accepting(): boolean
  /** Appends awaiting their commit, so close() can answer them before dropping sockets. */
  inflight: Set<Promise<unknown>>
  /** Null when tracing is off: then nothing below reads or makes a trace context. */
  tracer: EventTracer | null
}

/** Journal refusals answered with their own code; any other failure is logged, then journal_unavailable. */
const JOURNAL_ERRORS = ['journal_full', 'shutting_down'] as const

/**
 * journal_unavailable says why in its message (an I/O error). A refusal made without trying
 * to commit carries no cause and is not logged per request: the journal logged its state once
 * (a disk fault can last minutes at thousands of requests/s); a commit that failed carries its
 * cause and is.
 */
function unavailable(err: unknown): { message?: string; failed: boolean } {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown }
  if (e?.code !== 'journal_unavailable' || typeof e.message !== 'string') return { failed: true }
  return { message: e.message, failed: e.cause !== undefined }
}

/**
 * POST /webhook[/:source]. Order: headers (synchronously: uWS's req dies with this call),
 * admit (rate limit, before reading the body), body with its limit, verify, event id, journal
 * append; the 200 is written only after the commit holding the event returned.
 */
export function handleIngest(
  ctx: IngestContext,
  res: HttpResponse,
  req: HttpRequest,
  named: boolean,
): void {
  const reply = new Reply(res, 'webhook', ctx.refusals)
  // With tracing on, the receive span starts here: its body's arrival is part of it.
  const startedAt = ctx.tracer === null ? 0 : performance.timeOrigin + performance.now()
  const sourceName = named ? req.getParameter(0) : 'default'
  reply.source = sourceName
  const headers: Record<string, string> = {}
  req.forEach((k, v) => {
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`
  })
  const peer = Buffer.from(res.getRemoteAddressAsText()).toString()
  const clientAddress = ctx.clients.resolve(peer, headers['x-forwarded-for'])
  reply.client = clientAddress
  const hasBody =
    headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined
  const cl = headers['content-length']
  const contentLength = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : null

  if (!ctx.accepting())
    return reply.error('shutting_down', {
      retryAfterSeconds: ctx.retryAfterSeconds,
      close: hasBody,
    })
  const source = sourceName === undefined ? undefined : ctx.sources.get(sourceName)
  if (!source)
    return reply.error('unknown_source', {
      message: `no source named '${sourceName}' in SLUICE_CONFIG`,
      close: hasBody,
    })
  reply.sourceLabel = source.name
  const rejected = source.admit(clientAddress)
  if (rejected) {
    return reply.error(rejected.code, {
      status: rejected.status,
      message: rejected.message,
      retryAfterSeconds: rejected.retryAfterSeconds,
      close: hasBody,
    })
  }
  if (contentLength !== null && contentLength > ctx.maxBodyBytes) {
    // Refused from the header alone; closing the connection means the body is never read.
    return reply.error('body_too_large', {
      message: `body of ${contentLength} bytes is over SLUICE_MAX_BODY (${ctx.maxBodyBytes})`,
      close: true,
    })
  }
  readBody(res, reply, ctx.maxBodyBytes, contentLength, {
    tooLarge: () =>
      reply.error('body_too_large', {
        message: `body is over SLUICE_MAX_BODY (${ctx.maxBodyBytes} bytes)`,
        close: true,
      }),
    done: (body) => accept(ctx, reply, source, sourceName ?? 'default', headers, body, startedAt),
  })
}

function accept(
  ctx: IngestContext,
  reply: Reply,
  source: IngestSource,
  sourceName: string,
  headers: Record<string, string>,
  body: Buffer,
  startedAt: number,
): void {
  if (!ctx.accepting())
    return reply.error('shutting_down', { retryAfterSeconds: ctx.retryAfterSeconds })
  const verdict = source.verify({ headers, body })
  if (!verdict.ok) {
    return reply.error(verdict.code, {
      status: verdict.status,
      message: verdict.message,
      retryAfterSeconds: verdict.retryAfterSeconds,
    })
  }
  if (verdict.reply) {
    // e.g. Slack's url_verification: answered as the sender expects, not an event.
    const r = verdict.reply
    return reply.send(r.status, r.contentType, r.body)
  }
  const id = resolveEventId(headers, verdict.providerId)
  if (!id.ok) {
    return reply.error('invalid_event_id', {
      message: `event id is ${id.length} characters; at most ${MAX_EVENT_ID_LENGTH} are allowed`,
    })
  }
  const event: NewEvent = {
    id: id.id,
    source: sourceName,
    contentType: headers['content-type'] ?? '',
    headers,
    body,
    verifiedBy: verdict.verifiedBy,
  }
  const spans =
    ctx.tracer === null ? null : receiveSpans(ctx.tracer, event, headers.traceparent, startedAt)
  if (Number.isFinite(ctx.maxEventBytes)) {
    const size = eventBytes(event)
    if (size > ctx.maxEventBytes) {
      spans?.refused('event_too_large')
      return reply.error('event_too_large', {
        message: `event of ${size} bytes (body and metadata) is over the broker limit of ${ctx.maxEventBytes}`,
      })
    }
  }
  const p = ctx.journal.append(event).then(
    () => {
      reply.json(200, { status: 'success', id: event.id })
      spans?.answered(200)
    },
    (err: unknown) => {
      spans?.refused((err as { code?: unknown }).code, (err as Error).message)
      const code = JOURNAL_ERRORS.find((c) => c === (err as { code?: unknown }).code)
      if (code) return reply.error(code, { retryAfterSeconds: ctx.retryAfterSeconds })
      const { message, failed } = unavailable(err)
      if (failed)
        ctx.logger.error({ err, source: sourceName, id: event.id }, 'journal append failed')
      reply.error('journal_unavailable', { retryAfterSeconds: ctx.retryAfterSeconds, message })
    },
  )
  ctx.inflight.add(p)
  void p.finally(() => ctx.inflight.delete(p))
}
