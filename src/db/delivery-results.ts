import type pg from 'pg'
import { FLOW_DEFAULTS, type FlowOptions } from '../outbound/flow-options.js'
import { operationalEvents } from './operational-events.js'
import { hotQuery } from './prepared.js'

/** What one attempt did to its delivery, as the dispatcher decided it. */
export interface DeliveryResult {
  readonly id: string
  readonly subscriptionId: string
  /** pending: retried at nextAttemptAt; succeeded; failed: no attempt left, or a 410. */
  readonly status: 'pending' | 'succeeded' | 'failed'
  readonly nextAttemptAt: Date | null
  /**
   * For the subscription: a success, a failure (counts toward pausing and disabling), a 410, or
   * none (the delivery could not be attempted for a reason of ours, such as its event being gone).
   */
  readonly effect: 'success' | 'failure' | 'gone' | 'none'
  /** A probe of a paused subscription: unless it succeeded, it spends no attempt. */
  readonly probe?: boolean
  /** Failed for the receiver's load or absence (no answer, 5xx, 429): counts toward a pause. */
  readonly congested?: boolean
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
  /** Subscriptions this batch paused, and those it resumed (a 2xx while paused). */
  readonly paused: readonly string[]
  readonly resumed: readonly string[]
  /** Ordered deliveries this batch finished: their successors may go (advanceChains). */
  readonly released: readonly string[]
}

// The run of congested attempts after this batch: a 2xx or an answer that says nothing of the
// receiver's load (a 4xx) in the batch ends the run before it (`broke`).
const RUN = `CASE WHEN h.broke THEN h.downs ELSE s.consecutive_failures + h.downs END`
const RUN_SINCE = `CASE WHEN h.downs = 0 THEN (CASE WHEN h.broke THEN NULL ELSE s.down_since END)
  WHEN h.broke THEN h.first_down ELSE coalesce(s.down_since, h.first_down) END`
// The run reaches $15 attempts spanning $16 ms, with no 2xx in the batch: the pause.
const PAUSING = `(NOT h.ok AND s.paused_at IS NULL AND s.status = 'active' AND ${RUN} >= $15
  AND ${RUN_SINCE} <= now() - make_interval(secs => $16 / 1000.0))`

// One statement: a result counts only while the lease is still ours (lease_owner = $1 and
// still pending), and its attempt row is written from the same rows, so a stale owner's result
// is neither applied nor logged, and nothing is recorded twice. A failed probe is logged but
// leaves attempts and schedule alone. A finished ordered delivery is returned as `released`:
// its successor is freed under the chains' lock (src/db/ordering.ts). The subscription's health
// follows the recorded results only: failing_since (failures with no 2xx since then: for
// disabling), consecutive_failures and down_since (the run of congested attempts: no answer, a
// 5xx, a 429), the pause ($15 of them in a row spanning $16 ms) and its end (any 2xx); last_success_at is refreshed at most every 5 s to spare the row at high
// rates. Pausing and resuming set updated_at, so every node's cache sees them. The operational
// events of the changes are stored in the same transaction.
// Cost: the UPDATE returns the batch's own columns, so what follows reads `d` alone instead of
// joining it back to `r` (the planner, expecting one row from `d`, picked nested loops there:
// quadratic in the batch). `d.id = ANY ($3)` makes it find the rows by primary key.
const RECORD = `
WITH r AS (
  SELECT * FROM unnest($3::bigint[], $4::text[], $5::timestamptz[], $6::text[], $7::timestamptz[],
    $8::int[], $9::int[], $10::text[], $11::text[], $12::text[], $13::bool[], $14::bool[],
    $18::bool[])
    AS r (id, status, next_at, effect, attempted_at, duration_ms, status_code, error, message,
      excerpt, truncated, probe, congested)
),
d AS (
  UPDATE deliveries d SET status = r.status,
    attempts = d.attempts + CASE WHEN r.probe AND r.status = 'pending' THEN 0 ELSE 1 END,
    next_attempt_at = coalesce(r.next_at, d.next_attempt_at),
    lease_owner = NULL, lease_until = NULL, last_status = r.status_code, last_error = r.error,
    completed_at = CASE WHEN r.status = 'pending' THEN NULL ELSE now() END
  FROM r WHERE d.id = r.id AND d.id = ANY ($3::bigint[]) AND d.lease_owner = $1
    AND d.status = 'pending'
  RETURNING d.id, d.subscription_id, d.source, d.event_id, d.status, d.ordering_key,
    d.attempts + CASE WHEN r.probe AND r.status = 'pending' THEN 1 ELSE 0 END AS attempt,
    r.probe, r.effect, r.attempted_at, r.duration_ms, r.status_code, r.error, r.message, r.excerpt,
    r.truncated, r.congested
),
log AS (
  INSERT INTO delivery_attempts (delivery_id, subscription_id, attempt, attempted_at, duration_ms,
    status_code, error, message, response_excerpt, response_truncated, owner, node, probe)
  SELECT id, subscription_id, attempt, attempted_at, duration_ms, status_code, error, message,
    excerpt, truncated, $1, $2, probe
  FROM d
),
runs AS (
  SELECT subscription_id AS sid, bool_or(effect = 'success') AS ok,
    max(attempted_at) FILTER (WHERE effect = 'success' OR NOT congested) AS last_break
  FROM d WHERE effect IN ('success', 'failure') GROUP BY 1
),
health AS (
  SELECT runs.sid, runs.ok, runs.last_break IS NOT NULL AS broke,
    count(*) FILTER (WHERE d.congested AND d.effect = 'failure'
      AND (runs.last_break IS NULL OR d.attempted_at > runs.last_break))::int AS downs,
    min(d.attempted_at) FILTER (WHERE d.congested AND d.effect = 'failure'
      AND (runs.last_break IS NULL OR d.attempted_at > runs.last_break)) AS first_down,
    (array_agg(coalesce(d.message, d.error) ORDER BY d.attempted_at DESC)
      FILTER (WHERE d.effect = 'failure'))[1] AS last_error
  FROM runs JOIN d ON d.subscription_id = runs.sid GROUP BY runs.sid, runs.ok, runs.last_break
),
s AS (
  UPDATE subscriptions s SET
    failing_since = CASE WHEN h.ok THEN NULL ELSE coalesce(s.failing_since, now()) END,
    last_success_at = CASE WHEN h.ok THEN now() ELSE s.last_success_at END,
    consecutive_failures = ${RUN},
    down_since = ${RUN_SINCE},
    paused_at = CASE WHEN h.ok THEN NULL WHEN ${PAUSING} THEN now() ELSE s.paused_at END,
    next_probe_at = CASE WHEN ${PAUSING} THEN now() + make_interval(secs => $17 / 1000.0)
      ELSE s.next_probe_at END,
    resumed_at = CASE WHEN h.ok AND s.paused_at IS NOT NULL THEN now() ELSE s.resumed_at END,
    updated_at = CASE WHEN (h.ok AND s.paused_at IS NOT NULL) OR ${PAUSING} THEN now()
      ELSE s.updated_at END
  FROM health h WHERE s.id = h.sid AND (NOT h.ok OR s.failing_since IS NOT NULL
    OR s.paused_at IS NOT NULL OR s.consecutive_failures > 0 OR s.down_since IS NOT NULL
    OR s.last_success_at IS NULL OR s.last_success_at < now() - interval '5 seconds')
  RETURNING s.id, s.url, s.sources, s.paused_at = now() AS paused, s.resumed_at = now() AS resumed,
    s.consecutive_failures, s.down_since, h.last_error
),
ops AS (${operationalEvents.ofResults('d', 's')})
SELECT 'result' AS kind, id::text AS id, effect AS detail FROM d
UNION ALL SELECT 'released', id::text, NULL FROM d WHERE ordering_key IS NOT NULL
  AND status <> 'pending'
UNION ALL SELECT CASE WHEN paused THEN 'paused' ELSE 'resumed' END, id::text, NULL FROM s
  WHERE paused OR resumed
UNION ALL SELECT 'emitted', NULL, count(*)::text FROM ops`

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
  flow: FlowOptions = FLOW_DEFAULTS,
): Promise<RecordOutcome> {
  if (results.length === 0) {
    return { recorded: new Set(), disabled: [], paused: [], resumed: [], released: [] }
  }
  const col = <T>(f: (r: DeliveryResult) => T) => results.map(f)
  const { rows } = await hotQuery<{ kind: string; id: string; detail: string | null }>(
    db,
    'record_results',
    RECORD,
    [
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
      col((r) => r.probe ?? false),
      flow.pauseAfterFailures,
      flow.pauseAfterMs,
      flow.probeIntervalMs,
      col((r) => r.congested ?? false),
    ],
  )
  const of = (kind: string) => rows.filter((r) => r.kind === kind)
  const recorded = of('result')
  const subscriptionOf = new Map(results.map((r) => [r.id, r.subscriptionId]))
  const by = (effect: string) => [
    ...new Set(recorded.filter((r) => r.detail === effect).map((r) => subscriptionOf.get(r.id)!)),
  ]
  const disabled = await disable(
    db,
    by('gone'),
    disableAfterHours > 0 ? by('failure') : [],
    disableAfterHours,
  )
  return {
    recorded: new Set(recorded.map((r) => r.id)),
    disabled,
    paused: of('paused').map((r) => r.id),
    resumed: of('resumed').map((r) => r.id),
    released: of('released').map((r) => r.id),
  }
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
    `WITH s AS (
       UPDATE subscriptions SET status = 'disabled', updated_at = now(), paused_at = NULL,
         disabled_reason = CASE WHEN id = ANY ($1::uuid[]) THEN 'the receiver answered 410 Gone'
           ELSE format('deliveries failed for %s hours with no success', $3::int) END
       WHERE status = 'active' AND (id = ANY ($1::uuid[])
         OR (id = ANY ($2::uuid[]) AND failing_since <= now() - make_interval(hours => $3::int)))
       RETURNING id, url, sources, disabled_reason),
     ops AS (${operationalEvents.ofDisabled('s')})
     SELECT id, disabled_reason AS reason FROM s CROSS JOIN (SELECT count(*) FROM ops) o`,
    [gone, failing, hours],
  )
  return rows
}
