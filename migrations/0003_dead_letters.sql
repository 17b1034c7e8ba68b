-- Dead letters live in Postgres whatever the broker: an event that exhausted SLUICE_MAX_ATTEMPTS,
-- whose own data cannot be stored, or a broker message Sluice cannot decode. The row holds the
-- event itself (it has no row in `events`), so redriving needs nothing but this table.
-- Keyed by the event: a crash between this commit and the broker ack writes the same row again.
CREATE TABLE dead_letters (
  source text NOT NULL,
  id text NOT NULL,
  received_at timestamptz NOT NULL,
  content_type text NOT NULL,
  -- JSON text, not jsonb: jsonb refuses strings a sender may send (\u0000), and a dead letter
  -- must be storable whatever the event holds.
  headers text NOT NULL,
  body bytea NOT NULL,
  verified_by text,
  -- attempts_exhausted, invalid_event or undecodable_message (docs/errors.md)
  reason text NOT NULL,
  attempts integer NOT NULL,
  last_error text NOT NULL,
  first_failed_at timestamptz NOT NULL,
  last_failed_at timestamptz NOT NULL,
  PRIMARY KEY (source, id)
);
-- Newest first for listings; (last_failed_at, source, id) is the cursor.
CREATE INDEX dead_letters_last_failed_at ON dead_letters (last_failed_at, source, id);
