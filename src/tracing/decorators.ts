import type { Publisher } from '../brokers/types.js'
import type { BatchProcessor } from '../consumer/types.js'
import type { EventTracer, TraceSpan } from './types.js'

/**
 * The pipeline's spans, as decorators of the interfaces it already has: nothing changes in the
 * forwarder or the consumer, and without a tracer they are not installed at all. Only events
 * that carry a traceparent (those received while tracing was on) get spans.
 */

/** `sluice.forward` per event: from handing its batch to the broker until the broker's confirm. */
export function tracePublisher(publisher: Publisher, tracer: EventTracer): Publisher {
  return {
    publish: async (events) => {
      const spans = events.map((e) =>
        e.traceparent === undefined
          ? null
          : tracer.start('sluice.forward', 'producer', e.traceparent, {
              'sluice.event.id': e.id,
              'sluice.source': e.source,
              'messaging.batch.message_count': events.length,
            }),
      )
      try {
        const confirmed = await publisher.publish(events)
        confirmed.forEach((ok, i) => {
          if (!ok) spans[i]?.fail('not confirmed by the broker; published again')
        })
        return confirmed
      } catch (err) {
        for (const s of spans) s?.fail((err as Error).message)
        throw err
      } finally {
        for (const s of spans) s?.end()
      }
    },
  }
}

/**
 * `sluice.store` per event: the worker pool's run of its batch, up to the Postgres commit. The
 * event goes to the worker with the store span's traceparent, which the workers write on its
 * row, so the dispatcher's attempts are children of the store that made the deliveries.
 */
export function traceProcessor(processor: BatchProcessor, tracer: EventTracer): BatchProcessor {
  return {
    run: async (events) => {
      const spans: Array<TraceSpan | null> = []
      const traced = events.map((e) => {
        const span =
          e.traceparent === undefined
            ? null
            : tracer.start('sluice.store', 'consumer', e.traceparent, {
                'sluice.event.id': e.id,
                'sluice.source': e.source,
              })
        spans.push(span)
        return span ? { ...e, traceparent: span.traceparent } : e
      })
      try {
        const results = await processor.run(traced)
        results.forEach((r, i) => {
          const span = spans[i]
          if (!span) return
          if (r.ok) span.set('sluice.inserted', r.inserted)
          else span.fail(r.error)
        })
        return results
      } catch (err) {
        for (const s of spans) s?.fail((err as Error).message)
        throw err
      } finally {
        for (const s of spans) s?.end()
      }
    },
  }
}
