import type { EnvConfig } from '../config.js'

/**
 * What a thread needs to export spans (structured-cloneable, passed to each thread that traces).
 * Null everywhere means tracing is off: no OpenTelemetry module is loaded.
 */
export interface TracingOptions {
  /** Where spans are POSTed as OTLP/HTTP JSON (…/v1/traces). */
  url: string
  /** service.name, unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say otherwise. */
  serviceName: string
  /** thread.name on the resource: which of Sluice's threads made the spans. */
  thread: string
}

export type TracingConfig = Pick<
  EnvConfig,
  | 'OTEL_EXPORTER_OTLP_ENDPOINT'
  | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
  | 'OTEL_SDK_DISABLED'
  | 'OTEL_SERVICE_NAME'
  | 'OTEL_TRACES_EXPORTER'
>

/**
 * Tracing is on when an OTLP endpoint is configured, OTEL_SDK_DISABLED is not true and
 * OTEL_TRACES_EXPORTER does not name `none`. The traces endpoint is used as given; the general
 * one gets `/v1/traces` appended (the OTLP exporter specification's rule for
 * OTEL_EXPORTER_OTLP_ENDPOINT).
 */
export function tracingOptions(config: TracingConfig, thread: string): TracingOptions | null {
  if (config.OTEL_SDK_DISABLED || config.OTEL_TRACES_EXPORTER.includes('none')) return null
  const traces = config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT
  const url = traces ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined)
  if (!url) return null
  return { url, serviceName: config.OTEL_SERVICE_NAME, thread }
}

/** Span attribute values Sluice sets. */
export type SpanValue = string | number | boolean

/** One span, as the engine uses it: no OpenTelemetry type leaks past src/tracing. */
export interface TraceSpan {
  /** This span as a W3C traceparent: what its children (in any thread or process) continue. */
  readonly traceparent: string
  set(key: string, value: SpanValue): void
  /** Marks the span failed (status ERROR) with why. */
  fail(message: string): void
  end(): void
}

export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal'

/**
 * A thread's tracer. Spans are children of a traceparent string because that is what travels
 * with an event (journal row, broker envelope, events row); no context is kept in between.
 */
export interface EventTracer {
  /**
   * A span under `parent` (a traceparent), or the root of a new trace when it is absent or
   * invalid; it starts now, or at `startTime` (ms since the epoch).
   */
  start(
    name: string,
    kind: SpanKind,
    parent: string | undefined | null,
    attributes?: Record<string, SpanValue>,
    startTime?: number,
  ): TraceSpan
  /** Exports what is buffered and stops; called last when the thread closes. */
  shutdown(): Promise<void>
}
