-- Tracing (OpenTelemetry, docs/monitoring.md#tracing): the W3C traceparent of the span that
-- stored the event, so the dispatcher's delivery attempts continue the event's trace. Null when
-- tracing was off when the event was received. Nullable without a default: adding it rewrites
-- no partition.
ALTER TABLE events ADD COLUMN traceparent text;
