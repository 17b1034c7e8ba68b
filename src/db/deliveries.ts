import type pg from 'pg'
import { hotQuery } from './prepared.js'

/**
 * The dispatcher's side of `deliveries`: Postgres is the schedule of record. A claim leases due
 * deliveries to one owner token (`FOR UPDATE SKIP LOCKED`, so dispatchers on several nodes take
 * disjoint rows) and moves their next_attempt_at to the end of the lease: a lease that expires
 * (its node died) makes the delivery due again with no sweeper, and "due" stays one condition.
 */

/** A leased delivery with what its request needs. */
export interface ClaimedDelivery {
  /** bigint, as pg returns it. */
  readonly id: string
  readonly subscriptionId: string
  readonly source: string
  readonly eventId: string
  /** Attempts recorded before this one. */
  readonly attempts: number
  /** The event's exact body; null when its row is gone (retention dropped it). */
  readonly body: Buffer | null
  readonly contentType: string | null
  /** The traceparent of the span that stored the event (tracing on), else null. */
  readonly traceparent: string | null
}

export interface ClaimRequest {
  readonly owner: string
  readonly leaseMs: number
  /** How many each subscription may still start now, by this node's limits. */
  readonly rooms: ReadonlyMap<string, number>
  /** Deliveries this node is attempting: never claimed twice by the same owner. */
  readonly exclude: readonly string[]
  /** Deliveries at most in this claim. */
  readonly limit: number
}

// Per subscription, its cap is this node's room bounded by max_in_flight minus the leases every
// node holds. Retries and first attempts are taken by separate index scans and interleaved
// (k = 1, 3, 5, ... for retries, 2, 4, 6, ... for first attempts), so with both waiting each
// gets half of the cap and neither starves the other; with one kind waiting it gets all of it.
// Across subscriptions the claim goes round-robin (rank within its subscription first), so a
// subscription with a deep backlog cannot take the whole limit. An event's body comes once per
// claim, on the first of its deliveries, and they share it: a 1 MiB event fanned out to 200
// subscriptions is 1 MiB in the answer, not 200 MiB. Rows with a NULL id name the subscriptions
// whose due deliveries may not all have been found (a scan stopped at the cap, or more found than
// the cap took): the dispatcher claims again for those when their room comes back, and for the
// others only when something new may be due.
const CLAIM = `
WITH a AS (
  SELECT a.sid, least(a.room, s.max_in_flight - (
      SELECT count(*)::int FROM deliveries l WHERE l.subscription_id = a.sid
        AND l.status = 'pending' AND l.lease_owner IS NOT NULL AND l.lease_until > now())) AS cap
  FROM unnest($3::uuid[], $4::int[]) AS a (sid, room)
  JOIN subscriptions s ON s.id = a.sid AND s.status = 'active'
),
r AS (
  SELECT x.id, a.sid, a.cap, x.next_attempt_at, 1 AS retry FROM a CROSS JOIN LATERAL (
    SELECT d.id, d.next_attempt_at FROM deliveries d
    WHERE d.subscription_id = a.sid AND d.status = 'pending' AND d.attempts > 0
      AND d.waiting_for IS NULL AND d.next_attempt_at <= now() AND d.id <> ALL ($5::bigint[])
    ORDER BY d.next_attempt_at LIMIT greatest(a.cap, 0) FOR UPDATE SKIP LOCKED) x
),
f AS (
  SELECT x.id, a.sid, a.cap, x.next_attempt_at, 0 AS retry FROM a CROSS JOIN LATERAL (
    SELECT d.id, d.next_attempt_at FROM deliveries d
    WHERE d.subscription_id = a.sid AND d.status = 'pending' AND d.attempts = 0
      AND d.waiting_for IS NULL AND d.next_attempt_at <= now() AND d.id <> ALL ($5::bigint[])
    ORDER BY d.next_attempt_at LIMIT greatest(a.cap, 0) FOR UPDATE SKIP LOCKED) x
),
due AS (
  SELECT id, sid, cap,
    2 * row_number() OVER (PARTITION BY sid, retry ORDER BY next_attempt_at, id) - retry AS k
  FROM (SELECT * FROM r UNION ALL SELECT * FROM f) u
),
ranked AS (SELECT id, cap, row_number() OVER (PARTITION BY sid ORDER BY k) AS rank FROM due),
chosen AS (SELECT id FROM ranked WHERE rank <= cap ORDER BY rank, random() LIMIT $6),
claimed AS (
  UPDATE deliveries d SET lease_owner = $1,
    lease_until = now() + make_interval(secs => $2 / 1000.0),
    next_attempt_at = now() + make_interval(secs => $2 / 1000.0)
  FROM chosen WHERE d.id = chosen.id
  RETURNING d.id, d.subscription_id, d.source, d.event_id, d.received_at, d.attempts
)
SELECT c.id, c.subscription_id, c.source, c.event_id, c.attempts, e.content_type, e.traceparent,
  e.id IS NOT NULL AS has_body,
  dense_rank() OVER (ORDER BY c.source, c.event_id, c.received_at) AS event_no,
  CASE WHEN row_number() OVER (PARTITION BY c.source, c.event_id, c.received_at ORDER BY c.id) = 1
    THEN e.body END AS body
FROM claimed c
LEFT JOIN events e ON e.source = c.source AND e.id = c.event_id AND e.received_at = c.received_at
UNION ALL
SELECT NULL, a.sid, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL FROM a
  LEFT JOIN (SELECT sid, count(*) FILTER (WHERE retry = 1) AS nr, count(*) FILTER (WHERE retry = 0)
    AS nf FROM (SELECT sid, retry FROM r UNION ALL SELECT sid, retry FROM f) u GROUP BY sid) n
  ON n.sid = a.sid
WHERE a.cap <= 0 OR coalesce(n.nr, 0) >= a.cap OR coalesce(n.nf, 0) >= a.cap
  OR coalesce(n.nr, 0) + coalesce(n.nf, 0) > a.cap`

interface ClaimRow {
  /** NULL on the rows naming subscriptions with due deliveries perhaps left (`more`). */
  id: string | null
  subscription_id: string
  source: string
  event_id: string
  attempts: number
  content_type: string | null
  traceparent: string | null
  has_body: boolean
  /** Numbers the claim's events: deliveries of one event share its number. bigint as text. */
  event_no: string
  /** The body, on the first delivery of each event only. */
  body: Buffer | null
}

/** What one claim leased, and where it may have left due deliveries behind. */
export interface Claim {
  readonly deliveries: ClaimedDelivery[]
  /**
   * Subscriptions of the request with due deliveries perhaps not claimed: their cap (room, or
   * max_in_flight less every node's leases) was reached. `limit` cutting the claim is not here.
   */
  readonly more: ReadonlySet<string>
}

/** Lease up to `limit` due deliveries of the subscriptions in `rooms` to `owner`. */
export async function claimDue(db: pg.Pool, req: ClaimRequest): Promise<Claim> {
  const sids: string[] = []
  const rooms: number[] = []
  for (const [sid, room] of req.rooms) {
    if (room <= 0) continue
    sids.push(sid)
    rooms.push(room)
  }
  if (sids.length === 0 || req.limit <= 0) return { deliveries: [], more: new Set(sids) }
  const { rows } = await hotQuery<ClaimRow>(db, 'claim', CLAIM, [
    req.owner,
    req.leaseMs,
    sids,
    rooms,
    req.exclude,
    req.limit,
  ])
  const bodies = new Map<string, Buffer>()
  const more = new Set<string>()
  const leased: (ClaimRow & { id: string })[] = []
  for (const r of rows) {
    if (r.id === null) more.add(r.subscription_id)
    else leased.push(r as ClaimRow & { id: string })
    if (r.body) bodies.set(r.event_no, r.body)
  }
  const deliveries = leased.map((r) => ({
    id: r.id,
    subscriptionId: r.subscription_id,
    source: r.source,
    eventId: r.event_id,
    attempts: r.attempts,
    body: r.has_body ? (bodies.get(r.event_no) ?? null) : null,
    contentType: r.content_type,
    traceparent: r.traceparent,
  }))
  return { deliveries, more }
}

const probe = (kind: string) => `(SELECT min(x.at) FROM unnest($1::uuid[]) AS s (id)
    CROSS JOIN LATERAL (SELECT d.next_attempt_at AS at FROM deliveries d
      WHERE d.subscription_id = s.id AND d.status = 'pending' AND d.attempts ${kind}
        AND d.waiting_for IS NULL
      ORDER BY d.next_attempt_at LIMIT 1) x)`
const UNTIL_DUE = `SELECT extract(epoch FROM least(${probe('= 0')}, ${probe('> 0')}) - now())::float8 * 1000 AS ms`

/**
 * Milliseconds until the next delivery of these subscriptions is due (a lease's end included;
 * negative when one is overdue), or null when none is pending: the dispatcher sleeps until
 * then instead of polling. Measured on the database's clock, which decides what is due. One
 * index probe per subscription and kind, so a deep backlog of another subscription costs nothing.
 */
export async function msUntilDue(
  db: pg.Pool,
  subscriptionIds: readonly string[],
): Promise<number | null> {
  if (subscriptionIds.length === 0) return null
  const { rows } = await hotQuery<{ ms: number | null }>(db, 'until_due', UNTIL_DUE, [
    subscriptionIds,
  ])
  return rows[0]?.ms ?? null
}

/**
 * Due deliveries of active subscriptions not leased by anyone, and how late the oldest is. Per
 * subscription and kind, a range of its due index (0007), like the claim: the backlog of
 * subscriptions that are not active is not read at all.
 */
export async function dueBacklog(db: pg.Pool): Promise<{ due: number; oldestSeconds: number }> {
  const kind = (k: string) => `SELECT d.next_attempt_at AS at FROM deliveries d
    WHERE d.subscription_id = s.id AND d.status = 'pending' AND d.attempts ${k}
      AND d.waiting_for IS NULL AND d.next_attempt_at <= now()`
  const { rows } = await db.query<{ due: number; oldest: number | null }>(
    `SELECT count(*)::int AS due, extract(epoch FROM now() - min(x.at))::float8 AS oldest
     FROM subscriptions s CROSS JOIN LATERAL (${kind('= 0')} UNION ALL ${kind('> 0')}) x
     WHERE s.status = 'active'`,
  )
  return { due: rows[0]?.due ?? 0, oldestSeconds: Math.max(0, rows[0]?.oldest ?? 0) }
}

/**
 * Give back leases that were never attempted (no room after all, shutdown): due again at once.
 * Every node is told, as for new deliveries: another may have the room this one lacked, and a
 * dispatcher claims after a result write only where it knows deliveries wait.
 */
export async function releaseLeases(db: pg.Pool, owner: string, ids: readonly string[]) {
  if (ids.length === 0) return
  await db.query(
    `WITH r AS (
       UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, next_attempt_at = now()
       WHERE id = ANY ($2::bigint[]) AND lease_owner = $1 AND status = 'pending' RETURNING 1)
     SELECT pg_notify('sluice_deliveries', '') FROM (SELECT 1 FROM r LIMIT 1) x`,
    [owner, ids],
  )
}
