import t from 'tap'
import type pg from 'pg'
import {
  addDays,
  dropPartitionsBefore,
  ensurePartition,
  partitionName,
  utcDay,
} from '../src/db/partitions.js'
import { migratedPool } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

/** Resolves once `session` waits for a lock (one ungranted entry in pg_locks). */
async function waitsForLock(pool: pg.Pool, session: pg.PoolClient, what: string): Promise<void> {
  const { rows } = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  await until(what, async () => {
    const waiting = await pool.query('SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted', [
      rows[0]!.pid,
    ])
    return waiting.rowCount === 1
  })
}

// DDL on a partitioned table (CREATE TRIGGER, CREATE INDEX, ALTER TABLE) locks the parent, then
// each partition. Creating a daily partition must take its locks in that same order: it used to
// touch events_default (moving that day's rows) before locking events for ATTACH, and CI saw a
// user's CREATE TRIGGER and the engine's first maintenance round deadlock on it.
t.test('partition creation takes the parent lock before any partition', async (t) => {
  const pool = await migratedPool(t, 'sluice_partition_locks', 3)
  const ddl = await pool.connect()
  const maintenance = await pool.connect()
  t.teardown(() => {
    ddl.release()
    maintenance.release()
  })

  // The two steps of CREATE TRIGGER ON events, with the partition step held back until the
  // maintenance session is waiting.
  await ddl.query('BEGIN')
  await ddl.query('LOCK TABLE ONLY events IN SHARE ROW EXCLUSIVE MODE')
  const day = addDays(utcDay(Date.now()), 2)
  const creating = ensurePartition(maintenance, day).then(
    (created) => ({ created, error: null }),
    (error: Error) => ({ created: false, error: error.message }),
  )
  await waitsForLock(pool, maintenance, 'partition creation waits for a lock')
  const partitionStep = await ddl
    .query('LOCK TABLE events_default IN SHARE ROW EXCLUSIVE MODE')
    .then(
      () => null,
      (error: Error) => error.message,
    )
  await ddl.query(partitionStep === null ? 'COMMIT' : 'ROLLBACK')
  t.equal(partitionStep, null, 'the DDL session gets the partition lock: nobody holds it')
  t.same(await creating, { created: true, error: null }, 'the partition is created after it')
  const exists = await pool.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [
    partitionName(day),
  ])
  t.equal(exists.rows[0]?.r, partitionName(day), 'the partition exists')
})

// Dropping an expired partition locks `events` (ACCESS EXCLUSIVE) until its transaction commits,
// and that transaction also deletes the day's keys, which can be millions of rows and can wait on
// a key a store statement holds. The keys go first, so inserts are held up by the drop alone.
t.test(
  "retention deletes the day's keys before it locks events to drop the partition",
  async (t) => {
    const pool = await migratedPool(t, 'sluice_retention_locks', 4)
    const retention = await pool.connect()
    const holder = await pool.connect()
    const writer = await pool.connect()
    t.teardown(() => {
      for (const c of [retention, holder, writer]) c.release()
    })
    const oldDay = addDays(utcDay(Date.now()), -40)
    await ensurePartition(retention, oldDay)
    const at = new Date(oldDay.getTime() + 1000).toISOString()
    await pool.query(
      `INSERT INTO event_keys (source, id, received_at) VALUES ('default', 'old', $1)`,
      [at],
    )
    await pool.query(`INSERT INTO events (id, source, received_at) VALUES ('old', 'default', $1)`, [
      at,
    ])

    // A transaction still holding one of the day's keys, as an uncommitted store statement would.
    await holder.query('BEGIN')
    await holder.query(`SELECT 1 FROM event_keys WHERE id = 'old' FOR UPDATE`)
    const dropping = dropPartitionsBefore(retention, addDays(utcDay(Date.now()), -30)).then(
      (dropped) => ({ dropped, error: null }),
      (error: Error) => ({ dropped: [] as string[], error: error.message }),
    )
    await waitsForLock(pool, retention, 'the retention round waits for the held key')
    // Refused with lock_not_available if the round already held events.
    await writer.query(`SET lock_timeout = '5s'`)
    const inserted = await writer
      .query(`INSERT INTO events (id, source, received_at) VALUES ('new', 'default', now())`)
      .then(
        () => null,
        (error: Error) => error.message,
      )
    await holder.query('ROLLBACK')
    t.equal(inserted, null, 'an insert into events is not held up while the keys are deleted')
    t.same(
      await dropping,
      { dropped: [partitionName(oldDay)], error: null },
      'then the partition goes',
    )
    const keys = await pool.query<{ id: string }>('SELECT id FROM event_keys')
    t.same(keys.rows, [], 'with its keys')
  },
)

failOnLeaks(t)
