import type { ClaimedDelivery } from '../db/deliveries.js'
import type { AttemptResult } from '../outbound/attempt.js'
import type { EventTracer, TraceSpan } from '../tracing/types.js'
import type { CachedSubscription } from './subscription-cache.js'

/**
 * `sluice.deliver`: one span per attempt, a child of the span that stored the event (its row's
 * traceparent), or the root of a trace of its own for events stored while tracing was off and
 * Sluice's operational events. The request carries this span as its `traceparent`.
 */
export function deliverSpan(
  tracer: EventTracer,
  d: ClaimedDelivery,
  sub: CachedSubscription,
): TraceSpan {
  return tracer.start('sluice.deliver', 'client', d.traceparent, {
    'http.request.method': 'POST',
    'server.address': URL.canParse(sub.url) ? new URL(sub.url).hostname : '',
    'sluice.event.id': d.eventId,
    'sluice.source': d.source,
    'sluice.delivery.id': d.id,
    'sluice.subscription.id': d.subscriptionId,
    'sluice.delivery.attempt': d.attempts + 1,
  })
}

export function endDeliverSpan(span: TraceSpan, result: AttemptResult): void {
  if (result.status !== undefined) span.set('http.response.status_code', result.status)
  span.set('sluice.delivery.outcome', result.outcome)
  if ('error' in result) {
    span.set('error.type', result.error)
    span.fail(result.message)
  }
  span.end()
}
