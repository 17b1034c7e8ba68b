import t from 'tap'
import pg from 'pg'
import { migrate } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import { hotQuery, preparesStatements, usePreparedStatements } from '../src/db/prepared.js'
import type { StorableEvent } from '../src/event.js'
import { storeBatch } from '../workers/insert.js'
import { freshDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

const events = (prefix: string, n: number): StorableEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    source: 'default',
    receivedAt: Date.now(),
    contentType: 'application/json',
    headers: {},
    body: Buffer.from(JSON.stringify({ type: 'named', i })),
    verifiedBy: null,
  }))

/**
 * A server that lost the names (PgBouncer in transaction mode before 1.21 hands the next
 * statement to another backend; here a DEALLOCATE ALL behind the client's back) answers 26000
 * to every named statement. That is the name's trouble, not the events': none may spend an
 * attempt on it (repeated, every event would become a dead letter).
 */
t.test('named statements the server lost: the batch is stored unnamed', async (t) => {
  const db = await freshDatabase('sluice_named_lost')
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  await new Maintenance({ pool }).runOnce()
  usePreparedStatements(pool)
  const first = [
    ...(await storeBatch(pool, events('a', 1))),
    ...(await storeBatch(pool, events('b', 3))),
  ]
  t.ok(
    first.every((r) => r.ok && r.inserted),
    'stored with named statements',
  )
  const named = await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements')
  t.same(named.rows.map((r) => r.name).sort(), ['sluice_store_1', 'sluice_store_4'])

  await pool.query('DEALLOCATE ALL')
  const after = await storeBatch(pool, events('c', 3))
  t.same(
    after.map((r) => r.ok && r.inserted),
    [true, true, true],
    'every event of the next batch stored',
  )
  t.notOk(preparesStatements(pool), 'the pool names no statements any more')
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM events WHERE type = 'named'",
  )
  t.equal(rows[0]!.n, 7)
})

t.test('hotQuery: a lost name runs the statement again unnamed', async (t) => {
  const db = await freshDatabase('sluice_named_hot')
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  usePreparedStatements(pool)
  const once = await hotQuery<{ n: number }>(pool, 'probe', 'SELECT $1::int + 1 AS n', [1])
  t.equal(once.rows[0]!.n, 2)
  await pool.query('DEALLOCATE ALL')
  const again = await hotQuery<{ n: number }>(pool, 'probe', 'SELECT $1::int + 1 AS n', [2])
  t.equal(again.rows[0]!.n, 3)
  t.notOk(preparesStatements(pool))
  await t.rejects(
    hotQuery(pool, 'bad', 'SELECT nope', []),
    { code: '42703' },
    "any other error is the statement's own",
  )
})

failOnLeaks(t)
