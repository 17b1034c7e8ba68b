import type pg from 'pg'
import type { EventDetail as ApiEventDetail, EventSummary } from '../api/types.js'

/** One stored event as the admin API lists it (src/api/responses.ts). */
export type { EventSummary }

/** One stored event with its contents; `body` is base64 of the exact bytes. */
export type EventDetail = Omit<ApiEventDetail, 'deliveries'>

/** Where the previous page ended (newest first): its last row's key. */
export interface EventPosition {
  receivedAt: string
  source: string
  id: string
}

export interface EventQuery {
  source?: string
  type?: string
  /** ISO 8601, inclusive, on received_at. */
  since?: string
  /** ISO 8601, exclusive, on received_at. */
  until?: string
  limit: number
  after?: EventPosition
}

const SUMMARY = `source, id, type, received_at, processed_at, verified_by, content_type,
  octet_length(body) AS bytes`

interface SummaryRow {
  source: string
  id: string
  type: string | null
  received_at: Date
  processed_at: Date
  verified_by: string | null
  content_type: string | null
  bytes: number
}

const summary = (r: SummaryRow): EventSummary => ({
  source: r.source,
  id: r.id,
  type: r.type,
  receivedAt: r.received_at.toISOString(),
  processedAt: r.processed_at.toISOString(),
  verifiedBy: r.verified_by,
  contentType: r.content_type,
  bytes: Number(r.bytes),
})

/** The SQL of a page of events, newest first (exported for the query-plan test). */
export function eventPageQuery(q: EventQuery): { text: string; values: unknown[] } {
  const values: unknown[] = []
  const where: string[] = []
  const param = (v: unknown) => `$${values.push(v)}`
  if (q.source !== undefined) where.push(`source = ${param(q.source)}`)
  if (q.type !== undefined) where.push(`type = ${param(q.type)}`)
  if (q.since !== undefined) where.push(`received_at >= ${param(q.since)}::timestamptz`)
  if (q.until !== undefined) where.push(`received_at < ${param(q.until)}::timestamptz`)
  if (q.after) {
    const a = q.after
    // Row comparison matches the index order (received_at, source, id), all descending.
    where.push(
      `(received_at, source, id) < (${param(a.receivedAt)}::timestamptz, ${param(a.source)}, ${param(a.id)})`,
    )
  }
  const text = `SELECT ${SUMMARY} FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY received_at DESC, source DESC, id DESC LIMIT ${param(q.limit)}`
  return { text, values }
}

export async function listEvents(db: pg.Pool, q: EventQuery): Promise<EventSummary[]> {
  const { rows } = await db.query<SummaryRow>(eventPageQuery(q))
  return rows.map(summary)
}

export async function getEvent(
  db: pg.Pool,
  source: string,
  id: string,
): Promise<EventDetail | null> {
  // event_keys knows the event's received_at: the lookup then touches one partition only.
  const { rows } = await db.query<
    SummaryRow & { headers: Record<string, string> | null; body: Buffer; payload: unknown }
  >(
    `SELECT ${SUMMARY.replaceAll(/\b(source|id|received_at)\b/g, 'e.$1')}, headers, body, payload
       FROM event_keys k JOIN events e
         ON e.received_at = k.received_at AND e.source = k.source AND e.id = k.id
      WHERE k.source = $1 AND k.id = $2`,
    [source, id],
  )
  const r = rows[0]
  if (!r) return null
  return {
    ...summary(r),
    headers: r.headers ?? {},
    body: r.body.toString('base64'),
    payload: r.payload ?? null,
  }
}
