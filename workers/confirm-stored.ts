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

/**
 * The rows among `rows` whose key is not in event_keys (by their index in `rows`). Compared in
 * Postgres, not against the strings it returns: a key that is not well-formed UTF-16 comes back
 * as its UTF-8 form (U+FFFD for a lone surrogate) and would never match the engine's own.
 */
export async function unstoredRows(pool: pg.Pool, rows: readonly KeyedRow[]): Promise<number[]> {
  if (rows.length === 0) return []
  const { rows: missing } = await pool.query<{ n: number }>(
    `SELECT w.n::int AS n FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w (source, id, n)
     WHERE NOT EXISTS (SELECT 1 FROM event_keys k WHERE k.source = w.source AND k.id = w.id)`,
    [rows.map((r) => r.source), rows.map((r) => r.id)],
  )
  return missing.map((r) => r.n - 1)
}
