import pg from 'pg'

/** What Postgres says about the deliveries to one kind of receiver (the URL's first path part). */
export interface KindStats {
  kind: string
  deliveries: number
  attempts: number
  succeeded: number
  pending: number
  failed: number
  cancelled: number
  /** Failed attempts by error class, e.g. `timeout: 40, status_5xx: 50`. */
  errors: string
}

const QUERY = `
WITH k AS (SELECT id, split_part(url, '/', 4) AS kind FROM subscriptions),
d AS (
  SELECT k.kind, count(*)::int AS deliveries, sum(d.attempts)::int AS attempts,
    count(*) FILTER (WHERE d.status = 'succeeded')::int AS succeeded,
    count(*) FILTER (WHERE d.status = 'pending')::int AS pending,
    count(*) FILTER (WHERE d.status = 'failed')::int AS failed,
    count(*) FILTER (WHERE d.status = 'cancelled')::int AS cancelled
  FROM deliveries d JOIN k ON k.id = d.subscription_id GROUP BY k.kind
),
e AS (
  SELECT kind, string_agg(error || ': ' || n, ', ' ORDER BY error) AS errors FROM (
    SELECT k.kind, a.error, count(*) AS n FROM delivery_attempts a
    JOIN k ON k.id = a.subscription_id WHERE a.error IS NOT NULL GROUP BY k.kind, a.error) x
  GROUP BY kind
)
SELECT d.*, coalesce(e.errors, '') AS errors FROM d LEFT JOIN e USING (kind) ORDER BY d.kind`

/** Deliveries, attempts, outcomes and error classes per kind of receiver, now. */
export async function deliveryStats(url: string): Promise<KindStats[]> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return (await c.query<KindStats>(QUERY)).rows
  } finally {
    await c.end()
  }
}

/** Result writes of the dispatcher (its attempt rows share their transaction's xmin). */
export interface WriteBatches {
  writes: number
  avgResults: number | null
  maxResults: number | null
}

/** The writes of the attempts made in [fromMs, toMs) (wall clock). */
export async function writeBatches(
  url: string,
  fromMs: number,
  toMs: number,
): Promise<WriteBatches> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const { rows } = await c.query<WriteBatches>(
      `SELECT count(*)::int AS writes, round(avg(n))::int AS "avgResults", max(n)::int AS "maxResults"
       FROM (SELECT count(*) AS n FROM delivery_attempts
             WHERE attempted_at >= to_timestamp($1::float8 / 1000)
               AND attempted_at < to_timestamp($2::float8 / 1000)
             GROUP BY xmin::text) w`,
      [fromMs, toMs],
    )
    return rows[0] ?? { writes: 0, avgResults: null, maxResults: null }
  } finally {
    await c.end()
  }
}
