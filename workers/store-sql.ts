/**
 * The store statement (workers/insert.ts runs it): a batch of events becomes their key rows,
 * their event rows and their deliveries in one statement.
 */
import { orderingValues, subscriptionMatches } from '../src/db/subscription-match.js'

/** Parameters per row of the store statement. */
export const COLUMNS = 11

const sqlCache = new Map<number, string>()

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
export function insertSql(rows: number): string {
  let sql = sqlCache.get(rows)
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
d AS (INSERT INTO deliveries (subscription_id, source, event_id, received_at, ordering_key, waiting_for)
SELECT s.id, e.source, e.id, e.received_at, ${orderingValues('s', 'e')}
FROM e JOIN subscriptions s ON s.status = 'active' AND ${subscriptionMatches('s', 'e')}
ON CONFLICT DO NOTHING)
SELECT source, id FROM e`
  if (sqlCache.size > 256) sqlCache.clear()
  sqlCache.set(rows, sql)
  return sql
}
