import type pg from 'pg'

export interface FailureRecord {
  source: string
  id: string
  attempts: number
  lastError: string
  firstFailedAt: Date
  lastFailedAt: Date
}

/**
 * Count one failed processing attempt of (source, id) and keep its error, for `sluice dlq list`.
 * Called by the consumer (main thread) when a worker reports `ok: false`. Best effort: the
 * broker's own delivery count decides dead-lettering; this table only explains it.
 */
export async function recordFailure(
  db: pg.Pool | pg.ClientBase,
  failures: { source: string; id: string; error: string }[],
): Promise<void> {
  if (failures.length === 0) return
  // ON CONFLICT DO UPDATE may not touch a row twice in one statement: one entry per key.
  const unique = [...new Map(failures.map((f) => [`${f.source}\u0000${f.id}`, f])).values()]
  await db.query(
    `INSERT INTO event_failures (source, id, attempts, last_error)
     SELECT source, id, 1, error FROM unnest($1::text[], $2::text[], $3::text[]) AS f(source, id, error)
     ON CONFLICT (source, id) DO UPDATE SET attempts = event_failures.attempts + 1,
       last_error = EXCLUDED.last_error, last_failed_at = now()`,
    [unique.map((f) => f.source), unique.map((f) => f.id), unique.map((f) => f.error)],
  )
}

/** Failure records of the given keys (missing keys are simply absent from the result). */
export async function getFailures(
  db: pg.Pool | pg.ClientBase,
  keys: { source: string; id: string }[],
): Promise<FailureRecord[]> {
  if (keys.length === 0) return []
  const { rows } = await db.query<{
    source: string
    id: string
    attempts: number
    last_error: string
    first_failed_at: Date
    last_failed_at: Date
  }>(
    `SELECT f.* FROM event_failures f
     JOIN unnest($1::text[], $2::text[]) AS k(source, id) ON k.source = f.source AND k.id = f.id`,
    [keys.map((k) => k.source), keys.map((k) => k.id)],
  )
  return rows.map((r) => ({
    source: r.source,
    id: r.id,
    attempts: r.attempts,
    lastError: r.last_error,
    firstFailedAt: r.first_failed_at,
    lastFailedAt: r.last_failed_at,
  }))
}

/** Forget the failures of keys that were finally stored (e.g. after a redrive). */
export async function clearFailures(
  db: pg.Pool | pg.ClientBase,
  keys: { source: string; id: string }[],
): Promise<void> {
  if (keys.length === 0) return
  await db.query(
    `DELETE FROM event_failures f USING unnest($1::text[], $2::text[]) AS k(source, id)
     WHERE k.source = f.source AND k.id = f.id`,
    [keys.map((k) => k.source), keys.map((k) => k.id)],
  )
}
