import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { EventKey } from '../event.js'

// The CrashGuard of src/consumer/crash-guard.ts, on the table `event_runs_alone`
// (migrations/0011_event_runs_alone.sql).

const keyArrays = (keys: readonly EventKey[]) => [keys.map((k) => k.source), keys.map((k) => k.id)]

/**
 * Of these keys, those whose run alone began and never ended, except the runs `owner` began:
 * those are in flight still, or were given up by an engine that lives on; neither is a death.
 */
export async function runsNotEnded(
  db: pg.Pool,
  keys: readonly EventKey[],
  owner: string,
): Promise<EventKey[]> {
  if (keys.length === 0) return []
  const { rows } = await db.query<EventKey>(
    `SELECT r.source, r.id FROM event_runs_alone r
     JOIN unnest($1::text[], $2::text[]) AS k(source, id) ON k.source = r.source AND k.id = r.id
     WHERE r.owner <> $3`,
    [...keyArrays(keys), owner],
  )
  return rows
}

/** Committed before the run it announces starts (autocommit). */
export async function beginRunAlone(db: pg.Pool, key: EventKey, owner: string): Promise<void> {
  await db.query(
    `INSERT INTO event_runs_alone (source, id, owner) VALUES ($1, $2, $3)
     ON CONFLICT (source, id) DO UPDATE SET owner = excluded.owner, started_at = now()`,
    [key.source, key.id, owner],
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

/**
 * The guard the consumer takes (ConsumerDeps.crashGuard), as one engine instance: make one per
 * start of the engine (or of its pipeline thread), never share one between two of them.
 */
export const crashGuardOn = (db: pg.Pool, owner: string = randomUUID()) => ({
  diedOn: (keys: readonly EventKey[]) => runsNotEnded(db, keys, owner),
  begin: (key: EventKey) => beginRunAlone(db, key, owner),
  end: (keys: readonly EventKey[]) => endRunsAlone(db, keys),
})
