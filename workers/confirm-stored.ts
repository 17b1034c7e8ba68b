/**
 * A row the store statement did not return is taken as stored already (a redelivery), and its
 * message is acked. That is only true if its key is in event_keys: a database that answers a
 * statement with fewer rows and no error (PGlite 0.5 did, on a body nested 30,000 levels) would
 * otherwise have its events acked unstored. Checked only when some row is absent, so a batch of
 * new events costs nothing more.
 */
import type pg from 'pg'

export interface KeyedRow {
  source: string
  id: string
}

/** The rows among `rows` whose key is not in event_keys (by their index in `rows`). */
export async function unstoredRows(pool: pg.Pool, rows: readonly KeyedRow[]): Promise<number[]> {
  if (rows.length === 0) return []
  const { rows: found } = await pool.query<KeyedRow>(
    `SELECT k.source, k.id FROM event_keys k
     JOIN unnest($1::text[], $2::text[]) AS w (source, id) ON k.source = w.source AND k.id = w.id`,
    [rows.map((r) => r.source), rows.map((r) => r.id)],
  )
  const present = new Set(found.map((r) => `${r.source}\u0000${r.id}`))
  const missing: number[] = []
  rows.forEach((r, i) => {
    if (!present.has(`${r.source}\u0000${r.id}`)) missing.push(i)
  })
  return missing
}
