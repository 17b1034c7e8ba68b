import type { CommitResult } from './writer-core.js'
import type { JournalEntry, NewEvent } from './types.js'

/** A row of the entries table as the read connection returns it. */
export interface Row {
  seq: number
  source: string
  id: string
  received_at: number
  content_type: string
  headers: string
  body: Buffer
  verified_by: string | null
  traceparent: string | null
}

/** Pending rows in (?, ?], in seq order, at most ? of them: a backlog below the window. */
export const PENDING_RANGE_SQL = `SELECT seq, source, id, received_at, content_type, headers, body,
  verified_by, traceparent FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`

/** The entries of a commit as readPending returns them: the fields toEntry reads back. */
export function committedEntries(events: readonly NewEvent[], r: CommitResult): JournalEntry[] {
  return events.map((e, i) => {
    const entry: JournalEntry = {
      seq: r.seqs[i]!,
      source: e.source,
      id: e.id,
      receivedAt: r.receivedAt,
      contentType: e.contentType,
      headers: e.headers,
      // The caller's own Buffer: the writer copies it (better-sqlite3 binds a copy); it never
      // keeps, changes or transfers it.
      body: Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body),
      verifiedBy: e.verifiedBy,
    }
    if (e.traceparent !== undefined) entry.traceparent = e.traceparent
    return entry
  })
}

export function toEntry(r: Row): JournalEntry {
  const entry: JournalEntry = {
    seq: r.seq,
    source: r.source,
    id: r.id,
    receivedAt: r.received_at,
    contentType: r.content_type,
    headers: JSON.parse(r.headers) as Record<string, string>,
    body: r.body,
    verifiedBy: r.verified_by,
  }
  // Set only when present, as committedEntries does: no spread object per entry.
  if (r.traceparent !== null) entry.traceparent = r.traceparent
  return entry
}
