/**
 * The store statement (workers/insert.ts runs it): a batch of events becomes their key rows,
 * their event rows and their deliveries in one statement.
 */
import { orderingValues, subscriptionMatches } from '../src/db/subscription-match.js'

/** Parameters per row of the store statement. */
export const COLUMNS = 11

const sqlCache = new Map<string, string>()

// One statement = one transaction: the keys go into event_keys (ON CONFLICT DO NOTHING), only
// rows whose key was created now go on into events, and each of those gets one delivery per
// matching active subscription (outbound delivery): the row and its deliveries commit together,
// and a redelivered event, whose key exists, makes none. Every parameter is typed because
// untyped parameters in later VALUES rows would be resolved as text first. The payload is the
// body itself, so it is not sent twice: a boolean says "the body may be JSON" and Postgres makes
// the jsonb from the body's bytes. Bodies are parsed there only: the event's type is the one its
// headers state first, else the payload's top-level string `type`, else the one they state after
// it (parse.ts headerTypes). A body Postgres refuses fails the statement, and storeBatch retries
// with JSON.parse deciding (checkedInJs).
export function insertSql(rows: number, leasing = false): string {
  const cacheKey = `${rows}${leasing ? 'l' : ''}`
  let sql = sqlCache.get(cacheKey)
  if (sql) return sql
  const values: string[] = []
  for (let r = 0; r < rows; r++) {
    const p = (c: number) => `$${r * COLUMNS + c}`
    values.push(
      `(${p(1)}::text,${p(2)}::text,${p(3)}::text,${p(4)}::text,${p(5)}::timestamptz,${p(6)}::text,` +
        `${p(7)}::jsonb,${p(8)}::bytea,` +
        `CASE WHEN ${p(9)}::boolean THEN convert_from(${p(8)}::bytea, 'UTF8')::jsonb END,${p(10)}::text,` +
        `${p(11)}::text)`,
    )
  }
  sql = `WITH v (id, source, type_first, type_fallback, received_at, content_type, headers, body, payload,
  verified_by, traceparent)
AS (VALUES ${values.join(',')}),
k AS (INSERT INTO event_keys (source, id, received_at) SELECT source, id, received_at FROM v
  WHERE id IS NOT NULL
  ON CONFLICT DO NOTHING RETURNING source, id),
e AS (INSERT INTO events (id, source, type, received_at, content_type, headers, body, payload, verified_by,
  traceparent)
SELECT v.id, v.source,
  COALESCE(v.type_first, CASE WHEN jsonb_typeof(v.payload -> 'type') = 'string'
    THEN NULLIF(v.payload ->> 'type', '') END, v.type_fallback),
  v.received_at, v.content_type, v.headers, v.body, v.payload, v.verified_by, v.traceparent
FROM v JOIN k ON k.source = v.source AND k.id = v.id
RETURNING source, id, type, received_at, payload),
${leasing ? leasingDeliveries(rows * COLUMNS) : DELIVERIES}`
  if (sqlCache.size > 256) sqlCache.clear()
  sqlCache.set(cacheKey, sql)
  return sql
}

const DELIVERIES = `d AS (INSERT INTO deliveries (subscription_id, source, event_id, received_at, ordering_key, waiting_for)
SELECT s.id, e.source, e.id, e.received_at, ${orderingValues('s', 'e')}
FROM e JOIN subscriptions s ON s.status = 'active' AND ${subscriptionMatches('s', 'e')}
ON CONFLICT DO NOTHING)
SELECT source, id FROM e`

/**
 * The deliveries part when this node's dispatcher offered leases (src/dispatcher/first-leases.ts):
 * per offered subscription, up to its room of the new deliveries that are free to go (not
 * ordered) are made leased to the dispatcher, as its claim would lease them, so their first
 * attempt needs no claim: no second row version, no claim statement, no body read back. The room
 * is bounded by max_in_flight minus the leases every node holds, as in the claim. After the
 * events: one row per leased delivery (`delivery` set) and one with how many were made unleased
 * (`unleased`), which the claim and the other nodes' dispatchers are still woken for.
 */
function leasingDeliveries(after: number): string {
  // The offer's four parameters come after the rows' (the named statements' padding included).
  const [owner, leaseMs, sids, rooms] = [1, 2, 3, 4].map((i) => `$${after + i}`)
  const leased = 'x.waiting_for IS NULL AND x.n <= o.cap'
  const until = `now() + make_interval(secs => ${leaseMs}::int / 1000.0)`
  return `o AS (
  SELECT a.sid, least(coalesce(a.room, 0), s.max_in_flight - (
      SELECT count(*)::int FROM deliveries l WHERE l.subscription_id = a.sid
        AND l.status = 'pending' AND l.lease_owner IS NOT NULL AND l.lease_until > now())) AS cap
  FROM unnest(${sids}::uuid[], ${rooms}::int[]) AS a (sid, room)
  JOIN subscriptions s ON s.id = a.sid AND s.status = 'active'
),
m AS (
  SELECT s.id AS sid, e.source, e.id, e.received_at, ${orderingValues('s', 'e', true)}
  FROM e JOIN subscriptions s ON s.status = 'active' AND ${subscriptionMatches('s', 'e')}
),
-- Numbered among the free ones only: an ordered delivery takes none of the room.
x AS (
  SELECT m.*,
    row_number() OVER (PARTITION BY m.sid, m.waiting_for IS NULL ORDER BY m.received_at, m.id) AS n
  FROM m
),
d AS (INSERT INTO deliveries (subscription_id, source, event_id, received_at, ordering_key, waiting_for,
  lease_owner, lease_until, next_attempt_at)
SELECT x.sid, x.source, x.id, x.received_at, x.ordering_key, x.waiting_for,
  CASE WHEN ${leased} THEN ${owner}::uuid END,
  CASE WHEN ${leased} THEN ${until} END,
  CASE WHEN ${leased} THEN ${until} ELSE now() END
FROM x LEFT JOIN o ON o.sid = x.sid
ON CONFLICT DO NOTHING
RETURNING id, subscription_id, source, event_id, lease_owner IS NOT NULL AS leased)
SELECT source, id, NULL::text AS delivery, NULL::text AS subscription, NULL::int AS unleased FROM e
UNION ALL SELECT source, event_id, id::text, subscription_id::text, NULL FROM d WHERE leased
UNION ALL SELECT NULL, NULL, NULL, NULL, count(*)::int FROM d WHERE NOT leased`
}
