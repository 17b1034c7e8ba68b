import pg from 'pg'
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { migrate, readMigrations } from '../../src/db/migrate.js'
import { Maintenance } from '../../src/db/maintenance.js'
import { createPool, type WorkerPool } from '../../workers/pool.js'
import { until } from './wait.js'

export const ADMIN_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A fresh database for one test file, dropped by the returned cleanup. */
export async function freshDatabase(
  prefix = 'sluice_test',
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`)
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL })
      await c.connect()
      try {
        // Let clients the test closed finish disconnecting: FORCE would terminate a client that is
        // still ending, and its late 'terminating connection' error would fail the test. The
        // bound is time, not tries, and generous: on a busy machine disconnects take a while.
        for (const end = Date.now() + 30_000; Date.now() < end;) {
          try {
            await c.query(`DROP DATABASE IF EXISTS ${name}`)
            return
          } catch (err) {
            if ((err as { code?: string }).code !== '55006') throw err
            await new Promise((r) => setTimeout(r, 100))
          }
        }
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await c.end()
      }
    },
  }
}

/** A fresh, migrated database and a pool on it, both gone at the end of `t`. */
export async function migratedPool(t: Test, prefix: string, max: number): Promise<pg.Pool> {
  const db = await freshDatabase(prefix)
  const pool = new pg.Pool({ connectionString: db.url, max })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  return pool
}

/**
 * A fresh database, migrated and with today's partitions, a pool on it and a worker pool storing
 * into it with `threads` threads: all gone at the end of `t`.
 */
export async function storingDatabase(
  t: Test,
  prefix: string,
  threads: number,
): Promise<{ url: string; pool: pg.Pool; workers: WorkerPool }> {
  const db = await freshDatabase(prefix)
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  const workers = createPool({ connectionString: db.url, threads })
  t.teardown(async () => {
    await workers.close()
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  await new Maintenance({ pool }).runOnce()
  return { url: db.url, pool, workers }
}

/**
 * Waits until at least `count` events of source `default` are stored in the database at `url`,
 * and returns a reader of their ids. An engine child's tables may not exist yet while it
 * migrates, so a failing read counts as none. The client is closed by the test's teardown.
 */
export async function waitForStoredIds(
  t: Test,
  url: string,
  count: number,
): Promise<() => Promise<string[]>> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  const ids = async () =>
    (await client.query<{ id: string }>("SELECT id FROM events WHERE source = 'default'")).rows.map(
      (r) => r.id,
    )
  await until(
    `${count} events stored`,
    async () => (await ids().catch(() => [])).length >= count,
    120_000,
    250,
  )
  return ids
}

/** Until an engine child has applied every migration this checkout has. */
export async function waitForMigrations(pool: pg.Pool, timeoutMs = 60_000): Promise<void> {
  const latest = readMigrations().length
  await until(
    'migrated',
    async () => {
      // Two statements: a subquery on a table not there yet fails at planning, whatever CASE says.
      const there = await pool.query("SELECT to_regclass('sluice_migrations') IS NOT NULL AS ok")
      if (!(there.rows[0] as { ok: boolean }).ok) return false
      const r = await pool.query<{ v: number | null }>(
        'SELECT max(version) AS v FROM sluice_migrations',
      )
      return r.rows[0]?.v === latest
    },
    timeoutMs,
  )
}

/**
 * Pause a subscription the way flow control does (paused_at), once none of its deliveries is
 * pending: a 2xx recorded after the pause would resume it, as it should.
 */
export async function pauseWhenSettled(pool: pg.Pool, subscriptionId: string): Promise<void> {
  await until('its deliveries are recorded', async () => {
    const r = await pool.query(
      "SELECT 1 FROM deliveries WHERE subscription_id = $1 AND status = 'pending' LIMIT 1",
      [subscriptionId],
    )
    return r.rowCount === 0
  })
  await pool.query('UPDATE subscriptions SET paused_at = now() WHERE id = $1', [subscriptionId])
}
