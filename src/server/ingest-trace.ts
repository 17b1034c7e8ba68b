import type { NewEvent } from '../../journal/types.js'
import type { EventTracer } from '../tracing/types.js'

/** What ingest does with an event's spans once it knows the answer. */
export interface ReceiveSpans {
  answered(status: number): void
  refused(code: unknown, message?: string): void
}

/**
 * `sluice.receive` (a child of the sender's valid `traceparent`, else the root of a new trace),
 * from the request's arrival (`startedAt`, ms since the epoch) until its answer, and its child
 * `sluice.journal.commit`, from the append until the group commit holding the event returned. Only with tracing on: the event then carries the receive span's traceparent
 * into the journal, so every later step of its path is part of this trace.
 */
export function receiveSpans(
  tracer: EventTracer,
  event: NewEvent,
  incoming: string | undefined,
  startedAt: number,
): ReceiveSpans {
  const receive = tracer.start(
    'sluice.receive',
    'server',
    incoming,
    {
      'sluice.event.id': event.id,
      'sluice.source': event.source,
      'http.request.method': 'POST',
      'http.request.body.size': event.body.length,
    },
    startedAt,
  )
  const commit = tracer.start('sluice.journal.commit', 'internal', receive.traceparent)
  event.traceparent = receive.traceparent
  return {
    answered(status) {
      commit.end()
      receive.set('http.response.status_code', status)
      receive.end()
    },
    refused(code, message) {
      const why = typeof code === 'string' ? code : 'journal_unavailable'
      commit.fail(message ?? why)
      commit.end()
      receive.set('error.type', why)
      receive.fail(message ?? why)
      receive.end()
    },
  }
}
