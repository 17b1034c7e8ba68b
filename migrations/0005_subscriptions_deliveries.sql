-- Outbound delivery (docs/outbound.md): subscribers and one delivery per (event, subscription).

CREATE TABLE subscriptions (
  id uuid PRIMARY KEY,
  url text NOT NULL,
  -- NULL matches every type / every source; entries match exactly or by a trailing '*'.
  event_types text[],
  sources text[],
  -- url + the sorted types + the sorted sources: POST /v1/subscriptions with the same three
  -- updates this row instead of creating another.
  match_key text NOT NULL UNIQUE,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  payload jsonb,
  -- AES-256-GCM (12-byte IV, 16-byte tag, ciphertext) under SLUICE_SECRET_KEY: a dump of the
  -- database alone does not sign deliveries.
  secret bytea NOT NULL,
  previous_secret bytea,
  previous_secret_until timestamptz,
  rate_per_second double precision,
  rate_burst integer,
  max_in_flight integer NOT NULL DEFAULT 10,
  description text,
  -- active | disabled | deleted (kept so its deliveries and attempts stay explainable)
  status text NOT NULL DEFAULT 'active',
  disabled_reason text,
  failing_since timestamptz,
  last_success_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_active ON subscriptions (id) WHERE status = 'active';

CREATE TABLE deliveries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subscription_id uuid NOT NULL REFERENCES subscriptions (id),
  source text NOT NULL,
  event_id text NOT NULL,
  received_at timestamptz NOT NULL,
  -- 0: the fan-out made with the event's row; a replay through the API makes 1, 2, ...
  generation integer NOT NULL DEFAULT 0,
  -- pending | succeeded | failed | cancelled
  status text NOT NULL DEFAULT 'pending',
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- A claim: the node (owner token) that may attempt it until lease_until.
  lease_owner uuid,
  lease_until timestamptz,
  last_status integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  -- A crash, a redelivered broker message or a broker replay never makes a second delivery.
  UNIQUE (source, event_id, subscription_id, generation)
);
-- The dispatcher's claim: due pending deliveries, oldest due first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, id DESC);

-- New deliveries wake the dispatchers of every node at once (a latency hint: they also poll).
CREATE FUNCTION sluice_deliveries_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM created) THEN
    PERFORM pg_notify('sluice_deliveries', '');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER deliveries_created AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS created FOR EACH STATEMENT EXECUTE FUNCTION sluice_deliveries_created();

-- A subscription change reaches every node's cache within the poll interval, at once with this.
CREATE FUNCTION sluice_subscriptions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sluice_subscriptions', '');
  RETURN NULL;
END $$;
CREATE TRIGGER subscriptions_changed AFTER INSERT OR UPDATE OR DELETE ON subscriptions
  FOR EACH STATEMENT EXECUTE FUNCTION sluice_subscriptions_changed();
