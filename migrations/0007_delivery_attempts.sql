-- Outbound delivery, the dispatcher (src/dispatcher/): the attempt log, and what its claim needs.

-- One row per attempt of a delivery. Partitioned by day on attempted_at like `events`, so old
-- attempts leave with whole partitions under the same retention (src/db/maintenance.ts). No
-- foreign key: a log row explains what happened even after its delivery is gone.
CREATE TABLE delivery_attempts (
  delivery_id bigint NOT NULL,
  subscription_id uuid NOT NULL,
  -- 1 for the first attempt of the delivery, 2 for its first retry, ...
  attempt integer NOT NULL,
  attempted_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  -- The receiver's status when it answered; NULL when it never did (timeout, refused, ...).
  status_code integer,
  -- The error class (src/outbound/attempt-errors.ts: timeout, ssrf_refused, status_5xx, ...);
  -- NULL for a 2xx. `message` says it for a human.
  error text,
  message text,
  -- The first 64 KiB of the response body as UTF-8 (NUL replaced: text cannot hold it).
  response_excerpt text,
  response_truncated boolean NOT NULL DEFAULT false,
  -- The dispatcher that made the attempt: its lease owner token and its node (host:pid).
  owner uuid NOT NULL,
  node text NOT NULL
) PARTITION BY RANGE (attempted_at);

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempted_at);

-- Safety net like events_default: maintenance moves rows out when it creates their day.
CREATE TABLE delivery_attempts_default PARTITION OF delivery_attempts DEFAULT;

-- The claim (src/db/deliveries.ts) takes due deliveries per subscription, first attempts and
-- retries as separate shares, so each has its own index in due order.
CREATE INDEX deliveries_due_first ON deliveries (subscription_id, next_attempt_at)
  WHERE status = 'pending' AND attempts = 0;
CREATE INDEX deliveries_due_retry ON deliveries (subscription_id, next_attempt_at)
  WHERE status = 'pending' AND attempts > 0;
-- Deliveries leased right now, counted against a subscription's max_in_flight on every node.
CREATE INDEX deliveries_leased ON deliveries (subscription_id, lease_until)
  WHERE status = 'pending' AND lease_owner IS NOT NULL;

-- 0005's trigger notified on every statement touching subscriptions, even one that changed no
-- row. The dispatcher writes failing_since and last_success_at as results come in, and each of
-- those would make every node reload its cache. Now only rows whose configuration is written
-- notify (pg_notify folds the duplicates of one transaction into one).
DROP TRIGGER subscriptions_changed ON subscriptions;
CREATE TRIGGER subscriptions_changed
  AFTER INSERT OR DELETE OR UPDATE OF url, event_types, sources, headers, payload, secret,
    previous_secret, previous_secret_until, rate_per_second, rate_burst, max_in_flight, status
  ON subscriptions FOR EACH ROW EXECUTE FUNCTION sluice_subscriptions_changed();
