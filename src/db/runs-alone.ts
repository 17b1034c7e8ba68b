import type pg from 'pg'
import type { EventKey } from '../event.js'

// The CrashGuard of src/consumer/crash-guard.ts, on the table `event_runs_alone`
// (migrations/0011_event_runs_alone.sql).

const keyArrays = (keys: readonly EventKey[]) => [keys.map((k) => k.source), keys.map((k) => k.id)]

/** Of these keys, those whose run alone began and never ended. */
export async function runsNotEnded(db: pg.Pool, keys: readonly EventKey[]): Promise<EventKey[]> {
  if (keys.length === 0) return []
  const { rows } = await db.query<EventKey>(
    `SELECT r.source, r.id FROM event_runs_alone r
     JOIN unnest($1::text[], $2::text[]) AS k(source, id) ON k.source = r.source AND k.id = r.id`,
    keyArrays(keys),
  )
  return rows
}

/** Committed before the run it announces starts (autocommit). */
export async function beginRunAlone(db: pg.Pool, key: EventKey): Promise<void> {
  await db.query(
    `INSERT INTO event_runs_alone (source, id) VALUES ($1, $2)
     ON CONFLICT (source, id) DO UPDATE SET started_at = now()`,
    [key.source, key.id],
  )
}

export async function endRunsAlone(db: pg.Pool, keys: readonly EventKey[]): Promise<void> {
  if (keys.length === 0) return
  await db.query(
    `DELETE FROM event_runs_alone r USING unnest($1::text[], $2::text[]) AS k(source, id)
     WHERE k.source = r.source AND k.id = r.id`,
    keyArrays(keys),
  )
}

/** The guard the consumer takes (ConsumerDeps.crashGuard). */
export const crashGuardOn = (db: pg.Pool) => ({
  diedOn: (keys: readonly EventKey[]) => runsNotEnded(db, keys),
  begin: (key: EventKey) => beginRunAlone(db, key),
  end: (keys: readonly EventKey[]) => endRunsAlone(db, keys),
})
