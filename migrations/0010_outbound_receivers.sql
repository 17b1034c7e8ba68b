-- Outbound for real receivers (docs/outbound.md): payload filters, ordered delivery, the pause
-- of flow control, and Sluice's own operational events.

-- `filter` and `ordering` as the admin API took them, beside the forms the statements use:
-- filter_path is the filter compiled to an SQL/JSON path predicate (src/outbound/filter.ts) and
-- ordering_path the JSON pointer as a path for #>.
ALTER TABLE subscriptions
  ADD COLUMN filter jsonb,
  ADD COLUMN filter_path jsonpath,
  ADD COLUMN ordering jsonb,
  ADD COLUMN ordering_path text[],
  -- Flow control (src/dispatcher/flow.ts): attempts in a row that met congestion (no answer, a
  -- 5xx, a 429), the run beginning at down_since. Ten of them spanning 30 s pause the
  -- subscription: its deliveries wait, and one node at a time sends a probe when next_probe_at
  -- comes.
  ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0,
  ADD COLUMN down_since timestamptz,
  ADD COLUMN paused_at timestamptz,
  ADD COLUMN next_probe_at timestamptz,
  -- When the last pause ended. The result write that resumes a subscription sets it to now(),
  -- the only way a statement can tell, under the row's lock, that it made the change.
  ADD COLUMN resumed_at timestamptz;

-- Ordered delivery (src/db/ordering.ts). ordering_key: the event's value at the subscription's
-- pointer as JSON text, NULL when the subscription is unordered or the event has none there.
-- waiting_for: NULL when the delivery may be attempted, the id of the delivery it waits for, or
-- 0 until the linker has put it into its chain (subscription, key, generation).
ALTER TABLE deliveries ADD COLUMN ordering_key text, ADD COLUMN waiting_for bigint;

-- Each replay through the API makes one generation for everything it makes (so its deliveries of
-- one key form one chain), numbered after any generation there already is.
CREATE SEQUENCE sluice_replay_generation;
SELECT setval('sluice_replay_generation', greatest(1, (SELECT max(generation) FROM deliveries)),
  (SELECT max(generation) FROM deliveries) IS NOT NULL);

-- A probe of a paused subscription: logged like any attempt, but it spends no attempt.
ALTER TABLE delivery_attempts ADD COLUMN probe boolean NOT NULL DEFAULT false;

-- The claim's indexes leave out waiting deliveries, so 100,000 of them behind one slow key cost
-- the claim nothing.
DROP INDEX deliveries_due_first;
DROP INDEX deliveries_due_retry;
CREATE INDEX deliveries_due_first ON deliveries (subscription_id, next_attempt_at)
  WHERE status = 'pending' AND attempts = 0 AND waiting_for IS NULL;
CREATE INDEX deliveries_due_retry ON deliveries (subscription_id, next_attempt_at)
  WHERE status = 'pending' AND attempts > 0 AND waiting_for IS NULL;
-- The linker finds a chain's last linked pending delivery, the result write a finished one's
-- successor, and the linker the deliveries still to be linked, oldest first.
CREATE INDEX deliveries_chain ON deliveries (subscription_id, ordering_key, generation, received_at, id)
  WHERE status = 'pending' AND ordering_key IS NOT NULL AND (waiting_for IS NULL OR waiting_for > 0);
CREATE INDEX deliveries_waiting ON deliveries (waiting_for) WHERE waiting_for > 0;
CREATE INDEX deliveries_unlinked ON deliveries (received_at, id) WHERE waiting_for = 0;

-- The event types as LIKE patterns ('order.*' is 'order.%', with % and _ escaped), kept by a
-- trigger, so the match below needs no subquery and the planner can inline it.
ALTER TABLE subscriptions ADD COLUMN type_patterns text[];
CREATE FUNCTION sluice_subscription_type_patterns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.type_patterns := (SELECT array_agg(CASE WHEN right(t, 1) = '*'
      THEN replace(replace(replace(left(t, -1), '\', '\\'), '%', '\%'), '_', '\_') || '%'
      ELSE replace(replace(replace(t, '\', '\\'), '%', '\%'), '_', '\_') END)
    FROM unnest(NEW.event_types) AS t);
  RETURN NEW;
END $$;
CREATE TRIGGER subscriptions_type_patterns BEFORE INSERT OR UPDATE OF event_types ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION sluice_subscription_type_patterns();
UPDATE subscriptions SET event_types = event_types WHERE event_types IS NOT NULL;

-- Subscription `s` takes an event (status aside): its sources name the event's source (absent:
-- every source but Sluice's own, `sluice`, which a subscription must name), its types name the
-- type exactly or by a trailing '*', and its filter, if any, matches the JSON body (a body that
-- is not JSON matches no filter). One text for the workers' fan-out, replays and operational
-- events, so each reaches exactly the subscriptions the others would. A single expression with
-- no subquery, so the planner inlines it into each statement.
CREATE FUNCTION sluice_takes(sources text[], type_patterns text[], filter_path jsonpath,
  e_source text, e_type text, e_payload jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (CASE WHEN sources IS NULL THEN e_source <> 'sluice' ELSE e_source = ANY (sources) END)
    AND (type_patterns IS NULL OR coalesce(e_type, '') LIKE ANY (type_patterns))
    AND (filter_path IS NULL OR coalesce(jsonb_path_match(e_payload, filter_path, '{}', true), false))
$$;

-- The ordering key of an event for a subscription: the JSON text at the path (so 1 and "1" are
-- two keys), NULL for none, a JSON null, or an unordered subscription (NULL path). A sender
-- decides how long it is, and an index entry may not pass 2,704 bytes: a key over 200
-- characters is kept as its first 160 and the MD5 of the whole, the same for the same key.
CREATE FUNCTION sluice_ordering_key(path text[], payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN length((payload #> path)::text) > 200
    THEN left((payload #> path)::text, 160) || '…md5:' || md5((payload #> path)::text)
    ELSE nullif((payload #> path)::text, 'null') END
$$;

-- Stores one operational event (source `sluice`) and its deliveries, in the caller's
-- transaction: the change it reports and the event commit together or not at all.
CREATE FUNCTION sluice_emit_event(p_type text, p_body jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_id text := gen_random_uuid()::text;
  v_at timestamptz := clock_timestamp();
BEGIN
  INSERT INTO event_keys (source, id, received_at) VALUES ('sluice', v_id, v_at);
  INSERT INTO events (id, source, type, received_at, content_type, headers, body, payload)
    VALUES (v_id, 'sluice', p_type, v_at, 'application/json', '{}'::jsonb,
      convert_to(p_body::text, 'UTF8'), p_body);
  INSERT INTO deliveries (subscription_id, source, event_id, received_at, ordering_key, waiting_for)
    SELECT s.id, 'sluice', v_id, v_at, k.key, CASE WHEN k.key IS NULL THEN NULL ELSE 0 END
      FROM subscriptions s CROSS JOIN LATERAL (SELECT sluice_ordering_key(s.ordering_path, p_body) AS key) k
     WHERE s.status = 'active'
       AND sluice_takes(s.sources, s.type_patterns, s.filter_path, 'sluice', p_type, p_body);
  RETURN v_id;
END $$;

-- The caches reload when a column they hold changes. The pause is one of them, but the result
-- write names paused_at in every update of a subscription's health, and a column-list trigger
-- fires whenever the column is named: so the pause has a trigger of its own that fires only
-- when it changes. next_probe_at, consecutive_failures and resumed_at reload nothing.
DROP TRIGGER subscriptions_changed ON subscriptions;
CREATE TRIGGER subscriptions_changed
  AFTER INSERT OR DELETE OR UPDATE OF url, event_types, sources, headers, payload, secret,
    previous_secret, previous_secret_until, rate_per_second, rate_burst, max_in_flight, status,
    filter_path, ordering_path
  ON subscriptions FOR EACH ROW EXECUTE FUNCTION sluice_subscriptions_changed();
CREATE TRIGGER subscriptions_paused
  AFTER UPDATE OF paused_at ON subscriptions FOR EACH ROW
  WHEN (OLD.paused_at IS DISTINCT FROM NEW.paused_at)
  EXECUTE FUNCTION sluice_subscriptions_changed();
