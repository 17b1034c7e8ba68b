import t from 'tap'
import pg from 'pg'
import { migrate } from '../src/db/migrate.js'
import { addDays, ensurePartition, partitionName, utcDay } from '../src/db/partitions.js'
import { freshDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

// DDL on a partitioned table (CREATE TRIGGER, CREATE INDEX, ALTER TABLE) locks the parent, then
// each partition. Creating a daily partition must take its locks in that same order: it used to
// touch events_default (moving that day's rows) before locking events for ATTACH, and CI saw a
// user's CREATE TRIGGER and the engine's first maintenance round deadlock on it.
t.test('partition creation takes the parent lock before any partition', async (t) => {
  const db = await freshDatabase('sluice_partition_locks')
  const pool = new pg.Pool({ connectionString: db.url, max: 3 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  const ddl = await pool.connect()
  const maintenance = await pool.connect()
  t.teardown(() => {
    ddl.release()
    maintenance.release()
  })
  const { rows } = await maintenance.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  const pid = rows[0]!.pid

  // The two steps of CREATE TRIGGER ON events, with the partition step held back until the
  // maintenance session is waiting.
  await ddl.query('BEGIN')
  await ddl.query('LOCK TABLE ONLY events IN SHARE ROW EXCLUSIVE MODE')
  const day = addDays(utcDay(Date.now()), 2)
  const creating = ensurePartition(maintenance, day).then(
    (created) => ({ created, error: null }),
    (error: Error) => ({ created: false, error: error.message }),
  )
  await until('partition creation waits for a lock', async () => {
    const waiting = await pool.query('SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted', [pid])
    return waiting.rowCount === 1
  })
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

failOnLeaks(t)
