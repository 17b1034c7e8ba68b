import type pg from 'pg'
import type { EventKey, WebhookEvent } from '../event.js'
import { operationalEvents } from './operational-events.js'
import { storableTraceparent } from '../util/traceparent.js'
import type { DeadLetter as ApiDeadLetter } from '../api/types.js'

/** Why an event is a dead letter (each a code in docs/errors.md). */
export type DeadLetterReason = ApiDeadLetter['reason']

/** What the consumer hands over when it gives up on an event. */
export interface DeadLetterInput {
  event: WebhookEvent
  reason: DeadLetterReason
  /** The attempt that failed last (1 = first delivery). */
  attempts: number
  error: string
}

export interface DeadLetter {
  event: WebhookEvent
  reason: DeadLetterReason
  attempts: number
  lastError: string
  firstFailedAt: Date
  lastFailedAt: Date
}

type Db = pg.Pool | pg.ClientBase

/** A dead letter as `sluice dlq list` prints it and GET /v1/dead-letters lists it. */
export type DeadLetterItem = ApiDeadLetter

export function deadLetterItem(l: DeadLetter): DeadLetterItem {
  return {
    source: l.event.source,
    id: l.event.id,
    reason: l.reason,
    attempts: l.attempts,
    lastError: l.lastError,
    firstFailedAt: l.firstFailedAt.toISOString(),
    lastFailedAt: l.lastFailedAt.toISOString(),
    receivedAt: new Date(l.event.receivedAt).toISOString(),
    contentType: l.event.contentType,
    bytes: l.event.body.byteLength,
  }
}

// last_failed_at is a page cursor, and JavaScript Dates hold milliseconds: a microsecond in the
// column would make the cursor skip or repeat letters that failed within the same millisecond.
const NOW_MS = "date_trunc('milliseconds', now())"

/**
 * Write dead letters, one row per (source, id), in one statement. A row already there (the
 * process died after this commit and before the broker ack, so the message came back) is
 * updated, never doubled. The failure record of earlier attempts goes in the same statement: its
 * first failure time moves into the dead letter.
 */
export async function writeDeadLetters(db: Db, letters: readonly DeadLetterInput[]): Promise<void> {
  if (letters.length === 0) return
  // ON CONFLICT DO UPDATE may not touch a row twice in one statement: one entry per key.
  const unique = [...new Map(letters.map((l) => [keyOf(l.event), l])).values()]
  const col = <T>(f: (l: DeadLetterInput) => T) => unique.map(f)
  await db.query(
    `WITH v AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[],
         $6::bytea[], $7::text[], $8::text[], $9::int[], $10::text[], $11::text[])
         AS v(source, id, received_at, content_type, headers, body, verified_by, reason, attempts, error,
           traceparent)
     ), f AS (
       DELETE FROM event_failures f USING v WHERE f.source = v.source AND f.id = v.id
       RETURNING f.source, f.id, f.first_failed_at
     ), l AS (
       INSERT INTO dead_letters (source, id, received_at, content_type, headers, body, verified_by,
         reason, attempts, last_error, first_failed_at, last_failed_at, traceparent)
       SELECT v.source, v.id, v.received_at, v.content_type, v.headers, v.body, v.verified_by,
         v.reason, v.attempts, v.error, coalesce(f.first_failed_at, now()), ${NOW_MS}, v.traceparent
       FROM v LEFT JOIN f ON f.source = v.source AND f.id = v.id
       ON CONFLICT (source, id) DO UPDATE SET reason = EXCLUDED.reason,
         attempts = greatest(dead_letters.attempts, EXCLUDED.attempts),
         last_error = EXCLUDED.last_error, last_failed_at = EXCLUDED.last_failed_at,
         traceparent = coalesce(EXCLUDED.traceparent, dead_letters.traceparent)
       RETURNING source, id, reason, last_error, xmax = 0 AS created
     ), ops AS (${operationalEvents.ofDeadLetters('l')})
     SELECT count(*) FROM ops`,
    [
      col((l) => l.event.source),
      col((l) => l.event.id),
      col((l) => validTime(l.event.receivedAt)),
      col((l) => noNul(l.event.contentType)),
      col((l) => JSON.stringify(l.event.headers)),
      col((l) => l.event.body),
      col((l) => l.event.verifiedBy),
      col((l) => l.reason),
      col((l) => l.attempts),
      col((l) => noNul(l.error)),
      // Only a valid one, as the store statement keeps on events: the trace a redrive continues.
      col((l) => storableTraceparent(l.event.traceparent)),
    ],
  )
}

export interface ListOptions {
  /** @defaultValue 100 */
  limit?: number
  /** Only these keys (e.g. one id across sources); absent = all. */
  keys?: readonly Partial<EventKey>[]
  /** Continue after this (lastFailedAt, source, id), as returned in the previous page. */
  after?: { lastFailedAt: Date; source: string; id: string }
}

/** Dead letters, most recently failed first. */
export async function listDeadLetters(db: Db, options: ListOptions = {}): Promise<DeadLetter[]> {
  const limit = options.limit ?? 100
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer')
  const params: unknown[] = [limit]
  const where: string[] = []
  if (options.keys) {
    params.push(
      options.keys.map((k) => k.source ?? null),
      options.keys.map((k) => k.id ?? null),
    )
    where.push(`EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS k(source, id)
      WHERE (k.source IS NULL OR k.source = d.source) AND (k.id IS NULL OR k.id = d.id))`)
  }
  if (options.after) {
    const a = options.after
    params.push(a.lastFailedAt.toISOString(), a.source, a.id)
    const n = params.length
    where.push(`(d.last_failed_at, d.source, d.id) < ($${n - 2}::timestamptz, $${n - 1}, $${n})`)
  }
  const { rows } = await db.query<Row>(
    `SELECT * FROM dead_letters d ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY d.last_failed_at DESC, d.source DESC, d.id DESC LIMIT $1`,
    params,
  )
  return rows.map(fromRow)
}

/**
 * How many dead letters there are: exact up to about 100,000 rows, past that the planner's
 * estimate (pg_class.reltuples, kept by autovacuum), so a metric polling it every few seconds
 * never scans a large table. The exact count is an InitPlan, evaluated only when needed.
 */
export async function countDeadLetters(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT CASE WHEN c.reltuples > 100000 THEN c.reltuples::bigint
       ELSE (SELECT count(*) FROM dead_letters) END AS n
     FROM pg_class c WHERE c.oid = 'dead_letters'::regclass`,
  )
  return Number(rows[0]?.n ?? 0)
}

/** Remove the dead letters of events that were stored after all. */
export async function deleteDeadLetters(db: Db, keys: readonly EventKey[]): Promise<void> {
  if (keys.length === 0) return
  await db.query(
    `DELETE FROM dead_letters d USING unnest($1::text[], $2::text[]) AS k(source, id)
     WHERE d.source = k.source AND d.id = k.id`,
    [keys.map((k) => k.source), keys.map((k) => k.id)],
  )
}

/** A redrive that failed again: one more attempt and its error, still dead. */
export async function recordRedriveFailures(
  db: Db,
  failures: readonly (EventKey & { error: string })[],
): Promise<void> {
  if (failures.length === 0) return
  await db.query(
    `UPDATE dead_letters d SET attempts = d.attempts + 1, last_error = f.error,
       last_failed_at = ${NOW_MS}
     FROM unnest($1::text[], $2::text[], $3::text[]) AS f(source, id, error)
     WHERE d.source = f.source AND d.id = f.id`,
    [failures.map((f) => f.source), failures.map((f) => f.id), failures.map((f) => f.error)],
  )
}

interface Row {
  source: string
  id: string
  received_at: Date
  content_type: string
  headers: string
  body: Buffer
  verified_by: string | null
  reason: DeadLetterReason
  attempts: number
  last_error: string
  first_failed_at: Date
  last_failed_at: Date
  traceparent: string | null
}

const fromRow = (r: Row): DeadLetter => ({
  event: {
    id: r.id,
    source: r.source,
    receivedAt: r.received_at.getTime(),
    contentType: r.content_type,
    headers: JSON.parse(r.headers) as Record<string, string>,
    body: r.body,
    verifiedBy: r.verified_by,
    // Absent, not null, when none was kept: a WebhookEvent without one gets no spans.
    ...(r.traceparent === null ? {} : { traceparent: r.traceparent }),
  },
  reason: r.reason,
  attempts: r.attempts,
  lastError: r.last_error,
  firstFailedAt: r.first_failed_at,
  lastFailedAt: r.last_failed_at,
})

const keyOf = (e: EventKey) => `${e.source}\u0000${e.id}`

// A dead letter must be writable whatever the event holds: it is the last place it can go.
// An unusable receive time becomes now (the exact bytes and headers are kept regardless).
const validTime = (ms: number) => {
  const d = new Date(ms)
  const usable = !Number.isNaN(d.getTime()) && d.getUTCFullYear() > -4713 // Postgres' first year
  return (usable ? d : new Date()).toISOString()
}
// Postgres text cannot hold U+0000; error messages and content types are only for humans.
const noNul = (s: string) => s.replaceAll('\u0000', '\ufffd')
