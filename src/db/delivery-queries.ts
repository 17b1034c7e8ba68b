import type pg from 'pg'
import type { Delivery, DeliveryAttempt, DeliveryDetail, DeliveryStatus } from '../api/types.js'

/**
 * The admin API's side of `deliveries` and `delivery_attempts`: what an operator reads, and the
 * two things an operator does (retry one now). The dispatcher's side is src/db/deliveries.ts.
 */

export type { Delivery, DeliveryAttempt, DeliveryDetail, DeliveryStatus }

interface Row {
  id: string
  subscription_id: string
  source: string
  event_id: string
  generation: number
  status: DeliveryStatus
  attempts: number
  next_attempt_at: Date
  in_flight: boolean
  last_status: number | null
  last_error: string | null
  created_at: Date
  completed_at: Date | null
  ordering_key: string | null
  waiting_for: string | null
}

const COLUMNS = `d.id, d.subscription_id, d.source, d.event_id, d.generation, d.status, d.attempts,
  d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.completed_at, d.ordering_key,
  d.waiting_for,
  (d.status = 'pending' AND coalesce(d.lease_until > now(), false)) AS in_flight`

const toDelivery = (r: Row): Delivery => ({
  id: String(r.id),
  subscriptionId: r.subscription_id,
  source: r.source,
  eventId: r.event_id,
  generation: r.generation,
  status: r.status,
  attempts: r.attempts,
  // A claim moves next_attempt_at to its lease's end: that is no due time to show.
  nextAttemptAt: r.status === 'pending' && !r.in_flight ? r.next_attempt_at.toISOString() : null,
  inFlight: r.in_flight,
  lastStatus: r.last_status,
  lastError: r.last_error,
  createdAt: r.created_at.toISOString(),
  completedAt: r.completed_at?.toISOString() ?? null,
  orderingKey: r.ordering_key,
  // 0: stored, not linked into its chain yet (src/db/ordering.ts): it waits too, for no one yet.
  waitingFor: r.waiting_for === null || r.waiting_for === '0' ? null : String(r.waiting_for),
})

export interface DeliveryQuery {
  subscriptionId: string
  status?: DeliveryStatus
  limit: number
  /** The id of the last delivery of the previous page: newest first, by id. */
  before?: string
}

// Every status the schema allows (migration 0014's check): the listing of all of them reads one
// range of the (subscription_id, status, id DESC) index per status, at most `limit` rows each,
// and merges them newest first; there is no (subscription_id, id) index to keep per row version.
// A Record, so a status added to DeliveryStatus fails to compile here until it is listed.
const STATUS_SET: Record<DeliveryStatus, true> = {
  pending: true,
  succeeded: true,
  failed: true,
  cancelled: true,
}
const STATUSES = Object.keys(STATUS_SET) as DeliveryStatus[]
const range = (status: string) => `(SELECT ${COLUMNS} FROM deliveries d
  WHERE d.subscription_id = $1 AND d.status = ${status} AND ($2::bigint IS NULL OR d.id < $2)
  ORDER BY d.id DESC LIMIT $3)`
const ONE_STATUS = range('$4')
const ALL_STATUSES = `SELECT * FROM (${STATUSES.map((s) => range(`'${s}'`)).join(' UNION ALL ')}) d
  ORDER BY d.id DESC LIMIT $3`

export async function listDeliveries(db: pg.Pool, q: DeliveryQuery): Promise<Delivery[]> {
  const page = [q.subscriptionId, q.before ?? null, q.limit]
  const { rows } = q.status
    ? await db.query<Row>(ONE_STATUS, [...page, q.status])
    : await db.query<Row>(ALL_STATUSES, page)
  return rows.map(toDelivery)
}

/** Every delivery of one event, across subscriptions and replays (the event's detail). */
export async function deliveriesOfEvent(
  db: pg.Pool,
  source: string,
  eventId: string,
): Promise<Delivery[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM deliveries d WHERE d.source = $1 AND d.event_id = $2
      ORDER BY d.id LIMIT 1000`,
    [source, eventId],
  )
  return rows.map(toDelivery)
}

interface AttemptRow {
  attempt: number
  attempted_at: string
  duration_ms: number
  status_code: number | null
  error: string | null
  message: string | null
  response_excerpt: string | null
  response_truncated: boolean
  node: string
  probe: boolean
}

/** The delivery and its attempts in one statement, so both come from one snapshot. */
export async function getDelivery(db: pg.Pool, id: string): Promise<DeliveryDetail | null> {
  const { rows } = await db.query<Row & { url: string; log: AttemptRow[] }>(
    `SELECT ${COLUMNS}, s.url, coalesce((
        SELECT json_agg(json_build_object('attempt', a.attempt, 'attempted_at', a.attempted_at,
            'duration_ms', a.duration_ms, 'status_code', a.status_code, 'error', a.error,
            'message', a.message, 'response_excerpt', a.response_excerpt,
            'response_truncated', a.response_truncated, 'node', a.node, 'probe', a.probe)
          ORDER BY a.attempted_at, a.attempt)
          FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]') AS log
       FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
      WHERE d.id = $1`,
    [id],
  )
  const row = rows[0]
  if (!row) return null
  return {
    ...toDelivery(row),
    url: row.url,
    attemptLog: row.log.map((a) => ({
      attempt: a.attempt,
      // json_build_object renders timestamptz as ISO 8601 with the server's offset.
      attemptedAt: new Date(a.attempted_at).toISOString(),
      durationMs: a.duration_ms,
      statusCode: a.status_code,
      error: a.error,
      message: a.message,
      responseExcerpt: a.response_excerpt,
      responseTruncated: a.response_truncated,
      node: a.node,
      probe: a.probe,
    })),
  }
}

export type RetryOutcome =
  | { outcome: 'due'; delivery: Delivery }
  | { outcome: 'not_retryable'; delivery: Delivery }
  | { outcome: 'subscription_disabled' | 'subscription_deleted'; delivery: Delivery }
  | { outcome: 'waiting'; delivery: Delivery }
  | { outcome: 'missing' }

/**
 * Makes a pending or failed delivery due now. One being attempted right now (leased) is left
 * to that attempt. A failed one gets one more attempt; if that fails too it is failed again,
 * since its schedule is spent. A succeeded or cancelled one is not retried (replay it instead).
 * Nor is one whose subscription is disabled or deleted: the dispatcher does not attempt those,
 * so it would wait unseen; the caller says so instead. Nor one that waits for the delivery
 * before it of its ordering key.
 */
export async function retryDelivery(db: pg.Pool, id: string): Promise<RetryOutcome> {
  const { rows } = await db.query<Row>(
    `UPDATE deliveries d SET status = 'pending', next_attempt_at = now(), completed_at = NULL
      WHERE d.id = $1 AND d.status IN ('pending', 'failed')
        AND (d.lease_until IS NULL OR d.lease_until <= now()) AND d.waiting_for IS NULL
        AND EXISTS (SELECT 1 FROM subscriptions s
                     WHERE s.id = d.subscription_id AND s.status = 'active')
      RETURNING ${COLUMNS}`,
    [id],
  )
  if (rows[0]) return { outcome: 'due', delivery: toDelivery(rows[0]) }
  const now = await db.query<Row & { subscription_status: string }>(
    `SELECT ${COLUMNS}, s.status AS subscription_status
       FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id WHERE d.id = $1`,
    [id],
  )
  const current = now.rows[0]
  if (!current) return { outcome: 'missing' }
  const delivery = toDelivery(current)
  if (current.status !== 'pending' && current.status !== 'failed') {
    return { outcome: 'not_retryable', delivery }
  }
  // An ordered one waiting for its predecessor may not go first (contract: ordering).
  if (current.status === 'pending' && current.waiting_for !== null) {
    return { outcome: 'waiting', delivery }
  }
  if (current.subscription_status === 'active') return { outcome: 'due', delivery }
  const outcome =
    current.subscription_status === 'deleted' ? 'subscription_deleted' : 'subscription_disabled'
  return { outcome, delivery }
}
