/**
 * The OpenTelemetry SDK behind EventTracer. Imported only by startTracing() (index.ts) when
 * tracing is on, so a Sluice without an OTLP endpoint never loads these packages.
 *
 * One tracer provider per thread that makes spans (HTTP, pipeline, dispatcher): threads share
 * nothing but messages, and a provider with its own batching exporter is simpler than relaying
 * span data to one thread. The SDK's own variables apply (OTEL_BSP_*, OTEL_TRACES_SAMPLER,
 * OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME).
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { packageVersion } from '../version.js'
import { withTimeout } from '../util/timeout.js'
import { formatTraceparent, parseTraceparent } from '../util/traceparent.js'
import type {
  EventTracer,
  SpanKind as Kind,
  SpanValue,
  TraceSpan,
  TracingOptions,
} from './types.js'

/** How long a stopping thread waits for its last spans to be exported. */
const SHUTDOWN_MS = 2000

const KINDS: Record<Kind, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
}

export function createTracer(options: TracingOptions): EventTracer {
  // Later wins: the environment's OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES over the default.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': options.serviceName }))
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ 'thread.name': options.thread }))
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: options.url }))],
  })
  const tracer = provider.getTracer('sluice', packageVersion())
  return {
    start(name, kind, parent, attributes, startTime) {
      const p = parseTraceparent(parent)
      const context = p
        ? trace.setSpanContext(ROOT_CONTEXT, {
            traceId: p.traceId,
            spanId: p.spanId,
            traceFlags: p.flags,
            isRemote: true,
          })
        : ROOT_CONTEXT
      const span = tracer.startSpan(name, { kind: KINDS[kind], attributes, startTime }, context)
      return wrap(span)
    },
    // Bounded: a collector that is down (the exporter retries) must not hold up the stop.
    shutdown: () =>
      withTimeout(
        provider.shutdown(),
        SHUTDOWN_MS,
        `spans not exported within ${SHUTDOWN_MS} ms of the stop were dropped`,
      ),
  }
}

function wrap(span: Span): TraceSpan {
  const c = span.spanContext()
  const traceparent = formatTraceparent({
    traceId: c.traceId,
    spanId: c.spanId,
    flags: c.traceFlags,
  })
  return {
    traceparent,
    set: (key: string, value: SpanValue) => void span.setAttribute(key, value),
    fail: (message: string) => void span.setStatus({ code: SpanStatusCode.ERROR, message }),
    end: () => span.end(),
  }
}
