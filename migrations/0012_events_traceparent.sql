-- Tracing (OpenTelemetry, docs/monitoring.md#tracing): the W3C traceparent of the span that
-- stored the event, so the dispatcher's delivery attempts continue the event's trace. Null when
-- tracing was off when the event was received. Nullable without a default: adding it rewrites
-- no partition.
--
-- ALTER TABLE takes ACCESS EXCLUSIVE on events and its partitions. In a rolling upgrade, old
-- nodes still insert: a queued lock request blocks every insert behind it for as long as it
-- waits for their open transactions. So it waits 5 s at most; then this migration (its own
-- transaction) rolls back, and the engine's start retries migrations with a backoff (`sluice
-- migrate` exits with the error, to be run again). Local: it ends with this transaction.
SET LOCAL lock_timeout = '5s';
ALTER TABLE events ADD COLUMN traceparent text;
