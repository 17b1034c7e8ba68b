-- Sluice schema, version 1. Append-only: never edit a released migration, add 0002_... instead.
-- No schema is named: every object lands in the first schema of the connection's search_path.

-- (source, id) uniqueness for the whole retention period. `events` is partitioned by day on
-- received_at and Postgres cannot enforce a unique key that leaves out the partition key, so
-- the key lives here, unpartitioned. The insert statement writes the key first
-- (ON CONFLICT DO NOTHING) and only the rows whose key it created reach `events`, in the same
-- statement, hence the same transaction: a key without its row cannot be committed.
-- received_at lets retention delete keys together with the partitions it drops.
CREATE TABLE event_keys (
  source text NOT NULL,
  id text NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (source, id)
);
CREATE INDEX event_keys_received_at ON event_keys (received_at);

CREATE TABLE events (
  id text NOT NULL,
  source text NOT NULL,
  type text,
  received_at timestamptz NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  content_type text,
  headers jsonb,
  body bytea,
  payload jsonb,
  verified_by text
) PARTITION BY RANGE (received_at);

-- Lookups by key (not unique: event_keys enforces that). Created on the parent, so every
-- partition, present or future, gets its own copy.
CREATE INDEX events_source_id ON events (source, id);

-- Safety net for events outside the pre-created daily partitions (clock skew, a maintenance job
-- that has not run yet). Maintenance moves its rows into a daily partition when it creates one.
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- Processing failures per (source, id): attempts and the last error, for the dead-letter listing.
CREATE TABLE event_failures (
  source text NOT NULL,
  id text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text NOT NULL,
  first_failed_at timestamptz NOT NULL DEFAULT now(),
  last_failed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, id)
);
