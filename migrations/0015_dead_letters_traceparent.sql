-- Tracing (OpenTelemetry, docs/monitoring.md#tracing): the W3C traceparent the event carried when
-- it became a dead letter, so a redrive stores it in the event's own trace, as the consumer
-- would have, and its delivery attempts continue that trace too. Null when tracing was off when
-- the event was received, and for dead letters written before this column. Nullable without a
-- default: adding it rewrites nothing.
--
-- ACCESS EXCLUSIVE on dead_letters, which the consumer's dead-letter writes, redrives,
-- retention and every node's dead-letter gauge (every 15 s) use; a queued request would hold
-- them all up, so 5 s at most, as 0012, then the engine's start retries migrations with a
-- backoff.
SET LOCAL lock_timeout = '5s';
ALTER TABLE dead_letters ADD COLUMN traceparent text;
