import type pg from 'pg'

/** What one attempt did to its delivery, as the dispatcher decided it. */
export interface DeliveryResult {
  readonly id: string
  readonly subscriptionId: string
  /** pending: retried at nextAttemptAt; succeeded; failed: no attempt left, or a 410. */
  readonly status: 'pending' | 'succeeded' | 'failed'
  readonly nextAttemptAt: Date | null
  /**
   * For the subscription: a success, a failure (counts toward disabling), a 410, or none (the
   * delivery could not be attempted for a reason of ours, such as its event being gone).
   */
  readonly effect: 'success' | 'failure' | 'gone' | 'none'
  readonly attemptedAt: Date
  readonly durationMs: number
  readonly statusCode: number | null
  readonly error: string | null
  readonly message: string | null
  readonly excerpt: string
  readonly truncated: boolean
}

export interface RecordOutcome {
  /** Ids whose result was recorded; the others' lease had passed to another owner. */
  readonly recorded: ReadonlySet<string>
  /** Subscriptions this batch disabled (410, or failing for too long), with the reason. */
  readonly disabled: readonly { id: string; reason: string }[]
}

// One statement: a result counts only while the lease is still ours (lease_owner = $1 and
// still pending), and its attempt row is written from the same rows, so a stale owner's result
// is neither applied nor logged, and nothing is recorded twice. The subscription's
// failing_since / last_success_at follow the recorded results only; last_success_at is
// refreshed at most every 5 s per subscription to spare its row at high rates.
// Cost: the UPDATE returns the batch's own columns, so the log, the health and the answer read
// `d` alone instead of joining it back to `r` (the planner, expecting one row from `d`, picked
// nested loops there: quadratic in the batch). `d.id = ANY ($3)` makes it find the rows by
// primary key; otherwise it walked every row leased to any owner and filtered them.
const RECORD = `
WITH r AS (
  SELECT * FROM unnest($3::bigint[], $4::text[], $5::timestamptz[], $6::text[], $7::timestamptz[],
    $8::int[], $9::int[], $10::text[], $11::text[], $12::text[], $13::bool[])
    AS r (id, status, next_at, effect, attempted_at, duration_ms, status_code, error, message,
      excerpt, truncated)
),
d AS (
  UPDATE deliveries d SET status = r.status, attempts = d.attempts + 1,
    next_attempt_at = coalesce(r.next_at, d.next_attempt_at),
    lease_owner = NULL, lease_until = NULL, last_status = r.status_code, last_error = r.error,
    completed_at = CASE WHEN r.status = 'pending' THEN NULL ELSE now() END
  FROM r WHERE d.id = r.id AND d.id = ANY ($3::bigint[]) AND d.lease_owner = $1
    AND d.status = 'pending'
  RETURNING d.id, d.subscription_id, d.attempts, r.effect, r.attempted_at, r.duration_ms,
    r.status_code, r.error, r.message, r.excerpt, r.truncated
),
log AS (
  INSERT INTO delivery_attempts (delivery_id, subscription_id, attempt, attempted_at, duration_ms,
    status_code, error, message, response_excerpt, response_truncated, owner, node)
  SELECT id, subscription_id, attempts, attempted_at, duration_ms, status_code, error, message,
    excerpt, truncated, $1, $2
  FROM d
),
health AS (
  SELECT subscription_id AS sid, bool_or(effect = 'success') AS ok
  FROM d WHERE effect IN ('success', 'failure') GROUP BY 1
),
s AS (
  UPDATE subscriptions s SET
    failing_since = CASE WHEN h.ok THEN NULL ELSE coalesce(s.failing_since, now()) END,
    last_success_at = CASE WHEN h.ok THEN now() ELSE s.last_success_at END
  FROM health h WHERE s.id = h.sid AND (NOT h.ok OR s.failing_since IS NOT NULL
    OR s.last_success_at IS NULL OR s.last_success_at < now() - interval '5 seconds')
)
SELECT id, subscription_id, effect FROM d`

/** NUL cannot be stored in text; the excerpt is for a human, so it is replaced. */
const storable = (text: string) =>
  text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text

/**
 * Record a batch of results of `owner`'s attempts, then disable the subscriptions that answered
 * 410 or have failed, with no success, for `disableAfterHours` (0: never).
 */
export async function recordResults(
  db: pg.Pool,
  owner: string,
  node: string,
  results: readonly DeliveryResult[],
  disableAfterHours: number,
): Promise<RecordOutcome> {
  if (results.length === 0) return { recorded: new Set(), disabled: [] }
  const col = <T>(f: (r: DeliveryResult) => T) => results.map(f)
  const { rows } = await db.query<{ id: string; subscription_id: string; effect: string }>(RECORD, [
    owner,
    node,
    col((r) => r.id),
    col((r) => r.status),
    col((r) => r.nextAttemptAt?.toISOString() ?? null),
    col((r) => r.effect),
    col((r) => r.attemptedAt.toISOString()),
    col((r) => Math.round(r.durationMs)),
    col((r) => r.statusCode),
    col((r) => r.error),
    col((r) => (r.message === null ? null : storable(r.message))),
    col((r) => storable(r.excerpt)),
    col((r) => r.truncated),
  ])
  const gone = [...new Set(rows.filter((r) => r.effect === 'gone').map((r) => r.subscription_id))]
  const failing = [
    ...new Set(rows.filter((r) => r.effect === 'failure').map((r) => r.subscription_id)),
  ]
  const disabled = await disable(db, gone, disableAfterHours > 0 ? failing : [], disableAfterHours)
  return { recorded: new Set(rows.map((r) => r.id)), disabled }
}

async function disable(
  db: pg.Pool,
  gone: string[],
  failing: string[],
  hours: number,
): Promise<{ id: string; reason: string }[]> {
  if (gone.length === 0 && failing.length === 0) return []
  // Writing status makes the subscriptions trigger notify every node's cache.
  const { rows } = await db.query<{ id: string; reason: string }>(
    `UPDATE subscriptions SET status = 'disabled', updated_at = now(),
       disabled_reason = CASE WHEN id = ANY ($1::uuid[]) THEN 'the receiver answered 410 Gone'
         ELSE format('deliveries failed for %s hours with no success', $3::int) END
     WHERE status = 'active' AND (id = ANY ($1::uuid[])
       OR (id = ANY ($2::uuid[]) AND failing_since <= now() - make_interval(hours => $3::int)))
     RETURNING id, disabled_reason AS reason`,
    [gone, failing, hours],
  )
  return rows
}
