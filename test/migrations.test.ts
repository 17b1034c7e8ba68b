import t from 'tap'
import pg from 'pg'
import { migrate, readMigrations } from '../src/db/migrate.js'
import { migrateCommand } from '../src/db/database.js'
import { tmpdir } from 'node:os'
import { SchemaTooNewError } from '../src/db/errors.js'
import { freshDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

t.test('migrations', async (t) => {
  const db = await freshDatabase('sluice_migrations')
  const pool = new pg.Pool({ connectionString: db.url, max: 4 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  const latest = readMigrations().length

  t.test('two concurrent starters both succeed and the ledger has each version once', async (t) => {
    const [a, b] = await Promise.all([migrate(db.url), migrate(db.url)])
    t.equal(a.version, latest)
    t.equal(b.version, latest)
    t.same(
      [...a.applied, ...b.applied].sort((x, y) => x - y),
      readMigrations().map((m) => m.version),
    )
    const { rows } = await pool.query<{ version: number }>(
      'SELECT version FROM sluice_migrations ORDER BY version',
    )
    t.same(
      rows.map((r) => r.version),
      readMigrations().map((m) => m.version),
    )
    const tables = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()
       AND table_name IN ('events', 'event_keys', 'event_failures') ORDER BY 1`,
    )
    t.same(
      tables.rows.map((r) => r.table_name),
      ['event_failures', 'event_keys', 'events'],
    )
  })

  t.test('a second run applies nothing (pool argument)', async (t) => {
    const r = await migrate(pool)
    t.same(r.applied, [])
    t.equal(r.version, latest)
  })

  t.test('migrateCommand (sluice migrate) against DATABASE_URL', async (t) => {
    const r = await migrateCommand({ databaseUrl: db.url, dataDir: tmpdir() })
    t.same(r, { applied: [], version: latest })
  })

  t.test('a failing migration rolls back whole, ledger included', async (t) => {
    const bad = {
      version: latest + 1,
      name: 'bad',
      sql: 'CREATE TABLE half_done (x int); SELECT 1/0',
    }
    await t.rejects(migrate(pool, undefined, [...readMigrations(), bad]), {
      message: new RegExp(`migration ${latest + 1}_bad failed: division by zero`),
    })
    const { rows } = await pool.query(
      `SELECT max(version) AS v, to_regclass('half_done') IS NULL AS gone FROM sluice_migrations`,
    )
    t.same(rows[0], { v: latest, gone: true })
  })

  t.test('a database newer than the code is refused naming both versions', async (t) => {
    await pool.query(`INSERT INTO sluice_migrations (version, name) VALUES (9999, 'future')`)
    await t.rejects(migrate(pool), SchemaTooNewError)
    await t.rejects(migrate(pool), { message: new RegExp(`9999.*${latest}`) })
    await pool.query('DELETE FROM sluice_migrations WHERE version = 9999')
  })

  t.test('objects go to the search_path schema', async (t) => {
    await pool.query('CREATE SCHEMA tenant_a')
    const url = `${db.url}?options=-c%20search_path%3Dtenant_a`
    const r = await migrate(url)
    t.same(
      r.applied,
      readMigrations().map((m) => m.version),
    )
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'tenant_a'`,
    )
    t.ok(rows[0]!.n >= 4, 'events, event_keys, event_failures, sluice_migrations in tenant_a')
  })

  t.test('0012 gives up on the events lock instead of queueing inserts behind it', async (t) => {
    // An old node's open transaction on events (a rolling upgrade): the ALTER TABLE cannot have
    // its ACCESS EXCLUSIVE lock while it lasts.
    await pool.query('CREATE SCHEMA tenant_old')
    const url = `${db.url}?options=-c%20search_path%3Dtenant_old`
    const all = readMigrations()
    const traceparent = all.findIndex((m) => m.name === 'events_traceparent')
    t.ok(traceparent > 0, 'the migration is found')
    await migrate(url, undefined, all.slice(0, traceparent))
    const old = new pg.Client({ connectionString: url })
    await old.connect()
    t.teardown(() => old.end())
    await old.query('BEGIN')
    await old.query('SELECT count(*) FROM events')
    await t.rejects(migrate(url), { message: /events_traceparent failed: .*lock timeout/ })
    const column = `SELECT count(*)::int AS n FROM information_schema.columns
      WHERE table_schema = 'tenant_old' AND table_name = 'events' AND column_name = 'traceparent'`
    t.same((await pool.query(column)).rows, [{ n: 0 }], 'rolled back: no column')
    const ledger = `SELECT max(version) AS v FROM tenant_old.sluice_migrations`
    t.same((await pool.query(ledger)).rows, [{ v: traceparent }], 'the ledger stops before it')
    // Once the old transaction ends, the retry (the engine's start loops) applies it.
    await old.query('COMMIT')
    const r = await migrate(url)
    t.same(
      r.applied,
      all.slice(traceparent).map((m) => m.version),
    )
    t.same((await pool.query(column)).rows, [{ n: 1 }], 'the column is there')
  })
})

failOnLeaks(t)
