import type pg from 'pg'

const DAY_MS = 86_400_000

/** UTC midnight of the day holding `t`. Partitions are UTC days. */
export function utcDay(t: number | Date): Date {
  const ms = typeof t === 'number' ? t : t.getTime()
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS)
}

export function addDays(day: Date, n: number): Date {
  return new Date(day.getTime() + n * DAY_MS)
}

/** A table partitioned by UTC day on one timestamptz column, with a `<name>_default` partition. */
export interface DailyTable {
  readonly name: 'events' | 'delivery_attempts'
  readonly column: string
}
export const EVENTS: DailyTable = { name: 'events', column: 'received_at' }
/** The attempt log of outbound delivery (migrations/0007_delivery_attempts.sql). */
export const ATTEMPTS: DailyTable = { name: 'delivery_attempts', column: 'attempted_at' }

/** `events_20261122` (or `delivery_attempts_20261122`) for the UTC day starting at `day`. */
export function partitionName(day: Date, table: DailyTable = EVENTS): string {
  return `${table.name}_${day.toISOString().slice(0, 10).replaceAll('-', '')}`
}

function parsePartitionName(name: string, table: DailyTable): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(name.slice(table.name.length + 1))
  if (!name.startsWith(`${table.name}_`) || !m) return null
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
}

/** Names of the daily partitions of `table` in the search_path schema, with their day. */
export async function listPartitions(
  db: pg.ClientBase,
  table: DailyTable = EVENTS,
): Promise<{ name: string; day: Date }[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = $1::regclass`,
    [table.name],
  )
  return rows
    .map((r) => ({ name: r.name, day: parsePartitionName(r.name, table) }))
    .filter((p): p is { name: string; day: Date } => p.day !== null)
    .sort((a, b) => a.day.getTime() - b.day.getTime())
}

/**
 * Create the partition for one UTC day unless it exists. Rows that already landed in the
 * default partition for that day are moved into it first (ATTACH would fail otherwise), all in
 * one transaction. Callers hold the maintenance lock, so two nodes never race here.
 * Returns true when it created the partition.
 */
export async function ensurePartition(
  db: pg.ClientBase,
  day: Date,
  table: DailyTable = EVENTS,
): Promise<boolean> {
  const name = partitionName(day, table)
  const { name: parent, column } = table
  const from = day.toISOString()
  const to = addDays(day, 1).toISOString()
  const { rows } = await db.query<{ exists: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS exists',
    [name],
  )
  if (rows[0]?.exists) return false
  await db.query('BEGIN')
  try {
    // Parent first, as DDL on it (CREATE TRIGGER, CREATE INDEX) locks it and then each partition:
    // moving rows out of the default partition before ATTACH asks for the parent deadlocked with
    // such DDL. This mode does not block inserts or reads; ATTACH itself still takes the default
    // partition exclusively (to scan it) until COMMIT, as it always did.
    await db.query(`LOCK TABLE ONLY ${parent} IN SHARE UPDATE EXCLUSIVE MODE`)
    // Names and bounds are generated above from a Date, never from input: safe to inline.
    await db.query(
      `CREATE TABLE ${name} (LIKE ${parent} INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION)`,
    )
    await db.query(
      `WITH moved AS (DELETE FROM ${parent}_default WHERE ${column} >= $1 AND ${column} < $2
       RETURNING *) INSERT INTO ${name} SELECT * FROM moved`,
      [from, to],
    )
    await db.query(
      `ALTER TABLE ${parent} ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`,
    )
    await db.query('COMMIT')
    return true
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {})
    throw new Error(`creating partition ${name} failed: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Drop the daily partitions that end at or before `cutoff` (a UTC midnight), with their
 * dedup keys, and delete older rows that sit in the default partition. Each partition goes in
 * its own transaction together with its keys, so a key is never kept without its row for
 * longer than one drop, and never deleted while its row is kept.
 */
export async function dropPartitionsBefore(db: pg.ClientBase, cutoff: Date): Promise<string[]> {
  const dropped: string[] = []
  for (const p of await listPartitions(db)) {
    const end = addDays(p.day, 1)
    if (end.getTime() > cutoff.getTime()) continue
    await db.query('BEGIN')
    try {
      // Keys first: dropping a partition holds ACCESS EXCLUSIVE on `events` until COMMIT, which
      // stops every insert, so the day's (possibly millions of) key deletes run before it. This
      // is also the store statement's order, event_keys then events. The price, rare: a store
      // statement re-inserting a key being deleted here (an event redelivered after retention)
      // waits for this transaction while holding events, and the drop waits for it; Postgres
      // aborts one of the two, and the round or the batch is retried.
      await db.query('DELETE FROM event_keys WHERE received_at >= $1 AND received_at < $2', [
        p.day.toISOString(),
        end.toISOString(),
      ])
      await db.query(`DROP TABLE ${p.name}`)
      await db.query('COMMIT')
    } catch (err) {
      await db.query('ROLLBACK').catch(() => {})
      throw new Error(`dropping partition ${p.name} failed: ${(err as Error).message}`, {
        cause: err,
      })
    }
    dropped.push(p.name)
  }
  await db.query('BEGIN')
  try {
    const c = cutoff.toISOString()
    await db.query('DELETE FROM events_default WHERE received_at < $1', [c])
    await db.query('DELETE FROM event_keys WHERE received_at < $1', [c])
    await db.query('DELETE FROM event_failures WHERE last_failed_at < $1', [c])
    await db.query('DELETE FROM dead_letters WHERE last_failed_at < $1', [c])
    await db.query('COMMIT')
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {})
    throw new Error(`retention cleanup failed: ${(err as Error).message}`, { cause: err })
  }
  return dropped
}

/**
 * Retention of the attempt log: drop its daily partitions that end at or before `cutoff` and
 * delete older rows from its default partition. Nothing else depends on them, so no keys.
 */
export async function dropAttemptPartitionsBefore(
  db: pg.ClientBase,
  cutoff: Date,
): Promise<string[]> {
  const dropped: string[] = []
  for (const p of await listPartitions(db, ATTEMPTS)) {
    if (addDays(p.day, 1).getTime() > cutoff.getTime()) continue
    // Names come from the catalogue and matched parsePartitionName: safe to inline.
    await db.query(`DROP TABLE ${p.name}`)
    dropped.push(p.name)
  }
  await db.query('DELETE FROM delivery_attempts_default WHERE attempted_at < $1', [
    cutoff.toISOString(),
  ])
  return dropped
}
