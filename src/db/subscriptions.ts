import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import {
  matchKey,
  type SubscriptionInput,
  type SubscriptionPatch,
} from '../api/subscription-input.js'
import type { Subscription as ApiSubscription } from '../api/types.js'
import { compileFilter } from '../outbound/filter.js'
import { retryOnConflict } from './errors.js'
import { parsePointer } from '../outbound/ordering.js'
import type { SecretBox } from '../util/secret-box.js'

/**
 * A subscription as the admin API shows it (src/api/subscription.ts) without its delivery
 * health; `secret` only when this call made or was given one (create, an update with
 * `secret`, rotate), never read back.
 */
export type Subscription = Omit<ApiSubscription, 'delivery'>

interface Row {
  id: string
  url: string
  event_types: string[] | null
  sources: string[] | null
  headers: Record<string, string>
  payload: Record<string, unknown> | null
  secret: Buffer
  rate_per_second: number | null
  rate_burst: number | null
  max_in_flight: number
  description: string | null
  filter: Record<string, unknown> | null
  ordering: { key: string } | null
  status: 'active' | 'disabled'
  disabled_reason: string | null
  created_at: Date
  updated_at: Date
}

const toSubscription = (r: Row): Subscription => ({
  id: r.id,
  url: r.url,
  eventTypes: r.event_types,
  sources: r.sources,
  headers: r.headers,
  payload: r.payload,
  rateLimit:
    r.rate_per_second === null ? null : { perSecond: r.rate_per_second, burst: r.rate_burst ?? 1 },
  maxInFlight: r.max_in_flight,
  description: r.description,
  filter: r.filter,
  ordering: r.ordering,
  status: r.status,
  disabledReason: r.disabled_reason,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
})

const COLUMNS = `url, event_types, sources, match_key, headers, payload, rate_per_second,
  rate_burst, max_in_flight, description, filter, filter_path, ordering, ordering_path`

const values = (s: SubscriptionInput) => [
  s.url,
  s.eventTypes ?? null,
  s.sources ?? null,
  matchKey(s),
  JSON.stringify(s.headers ?? {}),
  s.payload === undefined ? null : JSON.stringify(s.payload),
  s.rateLimit?.perSecond ?? null,
  s.rateLimit?.burst ?? null,
  s.maxInFlight ?? 10,
  s.description ?? null,
  s.filter === undefined ? null : JSON.stringify(s.filter),
  s.filter === undefined ? null : compileFilter(s.filter),
  s.ordering === undefined ? null : JSON.stringify(s.ordering),
  s.ordering === undefined ? null : parsePointer(s.ordering.key),
]

/**
 * What an update writes: a column is set only when the request gives its field, so a POST
 * onto an existing subscription changes only what it names (absent keeps the row's value). A
 * deleted row taken up again is written whole, defaults and a new secret included, as a new
 * subscription would be: the API had stopped showing it, so nothing of it is the caller's.
 */
const setIfGiven = (column: string, field: keyof SubscriptionInput) =>
  `${column} = CASE WHEN subscriptions.status = 'deleted' OR '${field}' = ANY ($17::text[])
    THEN EXCLUDED.${column} ELSE subscriptions.${column} END`

/** A deleted row taken up again starts with none of its old delivery state. */
const freshIfDeleted = (column: string, value: string) =>
  `${column} = CASE WHEN subscriptions.status = 'deleted' THEN ${value} ELSE subscriptions.${column} END`

/**
 * Create-or-update by (url, eventTypes, sources): the same three update the existing row (a
 * deleted one comes back active), else a new row is made. The secret is kept on update unless
 * a new one is given; `generated` supplies one for a new row. The answer carries `secret` only
 * when this call set it (given or generated), never the live one of an update.
 */
export async function upsertSubscription(
  db: pg.Pool,
  box: SecretBox,
  input: SubscriptionInput,
  generated: () => string,
): Promise<{ subscription: Subscription; created: boolean }> {
  const secret = input.secret ?? generated()
  const sealed = box.seal(secret)
  const fields = Object.keys(input).filter((k) => input[k as keyof SubscriptionInput] !== undefined)
  const { rows } = await db.query<Row & { created: boolean }>(
    `INSERT INTO subscriptions (id, secret, ${COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12, $13::jsonb,
       $14::jsonpath, $15::jsonb, $16::text[])
     ON CONFLICT (match_key) DO UPDATE SET
       ${setIfGiven('headers', 'headers')}, ${setIfGiven('payload', 'payload')},
       ${setIfGiven('filter', 'filter')}, ${setIfGiven('filter_path', 'filter')},
       ${setIfGiven('ordering', 'ordering')}, ${setIfGiven('ordering_path', 'ordering')},
       ${setIfGiven('rate_per_second', 'rateLimit')}, ${setIfGiven('rate_burst', 'rateLimit')},
       ${setIfGiven('max_in_flight', 'maxInFlight')}, ${setIfGiven('description', 'description')},
       ${setIfGiven('secret', 'secret')},
       status = CASE WHEN subscriptions.status = 'deleted' THEN 'active' ELSE subscriptions.status END,
       ${freshIfDeleted('paused_at', 'NULL')}, ${freshIfDeleted('next_probe_at', 'NULL')},
       ${freshIfDeleted('consecutive_failures', '0')}, ${freshIfDeleted('failing_since', 'NULL')},
       ${freshIfDeleted('disabled_reason', 'NULL')}, ${freshIfDeleted('previous_secret', 'NULL')},
       updated_at = now()
     RETURNING *, (xmax = 0) AS created`,
    [randomUUID(), sealed, ...values(input), fields],
  )
  const row = rows[0]!
  // Sealing draws a random IV, so the row holds these exact bytes only when this call wrote them.
  const fresh = row.secret.equals(sealed)
  return {
    subscription: { ...toSubscription(row), ...(fresh ? { secret } : {}) },
    created: row.created,
  }
}

export async function getSubscription(db: pg.Pool, id: string): Promise<Subscription | null> {
  const { rows } = await db.query<Row>(
    "SELECT * FROM subscriptions WHERE id = $1 AND status <> 'deleted'",
    [id],
  )
  return rows[0] ? toSubscription(rows[0]) : null
}

// The cursor carries created_at as JavaScript has it (milliseconds); Postgres keeps microseconds.
const CREATED_MS = "date_trunc('milliseconds', created_at)"

/** Oldest first; `after` is the last id of the previous page (ids are ordered with created_at). */
export async function listSubscriptions(
  db: pg.Pool,
  q: { limit: number; after?: { createdAt: string; id: string }; status?: string },
): Promise<Subscription[]> {
  const params: unknown[] = [q.limit]
  const where = ["status <> 'deleted'"]
  if (q.status) where.push(`status = $${params.push(q.status)}`)
  if (q.after) {
    where.push(
      `(${CREATED_MS}, id) > ($${params.push(q.after.createdAt)}::timestamptz, $${params.push(q.after.id)}::uuid)`,
    )
  }
  const { rows } = await db.query<Row>(
    `SELECT * FROM subscriptions WHERE ${where.join(' AND ')} ORDER BY ${CREATED_MS}, id LIMIT $1`,
    params,
  )
  return rows.map(toSubscription)
}

/** Apply a patch; null when there is no such subscription. Throws 23505 on a key clash. */
export function patchSubscription(
  db: pg.Pool,
  box: SecretBox,
  id: string,
  patch: SubscriptionPatch,
): Promise<Subscription | null> {
  // Clearing `ordering` writes its deliveries after the row: a result write's opposite order.
  return retryOnConflict(() => patchOnce(db, box, id, patch))
}

async function patchOnce(
  db: pg.Pool,
  box: SecretBox,
  id: string,
  patch: SubscriptionPatch,
): Promise<Subscription | null> {
  const client = await db.connect()
  try {
    await client.query('BEGIN')
    const { rows } = await client.query<Row>(
      "SELECT * FROM subscriptions WHERE id = $1 AND status <> 'deleted' FOR UPDATE",
      [id],
    )
    const cur = rows[0]
    if (!cur) {
      await client.query('ROLLBACK')
      return null
    }
    const was = toSubscription(cur)
    // Absent keeps what was; null (the resettable fields) clears it.
    const given = <K extends keyof SubscriptionPatch & keyof Subscription>(k: K) =>
      patch[k] === undefined ? was[k] : patch[k]
    const next: SubscriptionInput = {
      url: patch.url ?? was.url,
      ...optional('eventTypes', given('eventTypes')),
      ...optional('sources', given('sources')),
      headers: patch.headers ?? was.headers,
      ...optional('payload', given('payload')),
      ...optional('rateLimit', given('rateLimit')),
      maxInFlight: patch.maxInFlight ?? was.maxInFlight,
      ...optional('description', given('description')),
      ...optional('filter', given('filter')),
      ...optional('ordering', given('ordering')),
    }
    const status = patch.status ?? was.status
    const updated = await client.query<Row>(
      `UPDATE subscriptions SET (${COLUMNS}) =
         ($2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12::jsonb, $13::jsonpath,
           $14::jsonb, $15::text[]),
         secret = coalesce($16, secret), status = $17,
         disabled_reason = CASE WHEN $17 = 'disabled' THEN coalesce($18, disabled_reason) END,
         failing_since = CASE WHEN $17 = 'active' THEN NULL ELSE failing_since END,
         paused_at = CASE WHEN $19 THEN NULL ELSE paused_at END,
         consecutive_failures = CASE WHEN $19 THEN 0 ELSE consecutive_failures END,
         updated_at = now()
       WHERE id = $1 RETURNING *`,
      [
        id,
        ...values(next),
        patch.secret ? box.seal(patch.secret) : null,
        status,
        patch.status === 'disabled' ? 'disabled through the admin API' : null,
        // "status": "active" given is also the operator's resume of a paused subscription.
        patch.status === 'active',
      ],
    )
    // Unordered now: its waiting deliveries need not wait for one another any more.
    if (was.ordering && !next.ordering) {
      await client.query(
        `UPDATE deliveries SET waiting_for = NULL
          WHERE subscription_id = $1 AND status = 'pending' AND waiting_for IS NOT NULL`,
        [id],
      )
    }
    await client.query('COMMIT')
    return toSubscription(updated.rows[0]!)
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

/**
 * Mark deleted and cancel its pending deliveries; false when there is no such subscription. It
 * locks the subscription, then its deliveries; a result write locks them the other way round,
 * so a deadlock between the two is possible, and resolved by trying again.
 */
export async function deleteSubscription(db: pg.Pool, id: string): Promise<boolean> {
  const { rows } = await retryOnConflict(() =>
    db.query<{ id: string }>(
      `WITH s AS (UPDATE subscriptions SET status = 'deleted', updated_at = now()
                 WHERE id = $1 AND status <> 'deleted' RETURNING id),
          c AS (UPDATE deliveries SET status = 'cancelled', completed_at = now(),
                       lease_owner = NULL, lease_until = NULL, waiting_for = NULL
                 WHERE subscription_id IN (SELECT id FROM s) AND status = 'pending')
     SELECT id FROM s`,
      [id],
    ),
  )
  return rows.length > 0
}

/** A new secret; the current one keeps signing until graceSeconds from now. */
export async function rotateSecret(
  db: pg.Pool,
  box: SecretBox,
  id: string,
  secret: string,
  graceSeconds: number,
): Promise<Subscription | null> {
  const { rows } = await db.query<Row>(
    `UPDATE subscriptions SET previous_secret = secret, secret = $2,
       previous_secret_until = now() + make_interval(secs => $3), updated_at = now()
     WHERE id = $1 AND status <> 'deleted' RETURNING *`,
    [id, box.seal(secret), graceSeconds],
  )
  return rows[0] ? { ...toSubscription(rows[0]), secret } : null
}

function optional<K extends string, V>(key: K, v: V | null | undefined) {
  return (v === null || v === undefined ? {} : { [key]: v }) as Partial<Record<K, V>>
}
