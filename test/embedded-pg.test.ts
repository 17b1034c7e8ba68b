import t from 'tap'
import pg from 'pg'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedPostgres } from '../src/db/embedded.js'
import { openDatabase } from '../src/db/database.js'
import { migrate, readMigrations } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import { ping } from '../src/db/ping.js'
import { createPool } from '../workers/pool.js'
import type { StorableEvent } from '../src/event.js'
import { storeBatch } from '../workers/insert.js'
import { failOnLeaks } from './helpers/leaks.js'

function events(prefix: string, n: number): StorableEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    source: 'default',
    receivedAt: Date.now(),
    contentType: 'application/json',
    headers: { 'x-event-type': 'embedded.test' },
    body: Buffer.from(JSON.stringify({ i })),
    verifiedBy: null,
  }))
}

t.test('embedded PGlite over the wire protocol', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-embedded-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))

  t.test('migrations and an upsert batch; several connections at once', async (t) => {
    const embedded = await startEmbeddedPostgres({ dataDir, maxConnections: 6 })
    const pool = new pg.Pool({ connectionString: embedded.url, max: 3 })
    const workers = createPool({ connectionString: embedded.url, threads: 2 })
    // Safety net when an assertion throws early; each close() is idempotent.
    t.teardown(async () => {
      await workers.close()
      if (!pool.ended) await pool.end()
      await embedded.close()
    })
    t.match(embedded.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/)
    // The first start's initdb child migrated the directory (src/db/embedded-initdb-schema.ts).
    const n = readMigrations().length
    t.same((await migrate(pool)).applied, [], 'migrated by the first start')
    // Two migrators at once with one version more: advisory locks never block on the embedded
    // database (one shared session), so only the in-process serialisation keeps them from both
    // applying it (the second would fail on the table the first made).
    const extra = [
      ...readMigrations(),
      { version: n + 1, name: 'extra', sql: 'CREATE TABLE embedded_extra (x int)' },
    ]
    const [a, b] = await Promise.all([
      migrate(embedded.url, undefined, extra),
      migrate(pool, undefined, extra),
    ])
    t.same([...a.applied, ...b.applied], [n + 1], 'the extra version applied exactly once')
    t.same([a.version, b.version], [n + 1, n + 1])
    await pool.query('DROP TABLE embedded_extra')
    await pool.query('DELETE FROM sluice_migrations WHERE version = $1', [n + 1])
    await new Maintenance({ pool }).runOnce()
    const batch = events('emb', 50)
    const direct = await storeBatch(pool, batch.slice(0, 25))
    t.ok(direct.every((r) => r.ok && r.inserted))
    const viaWorkers = await Promise.all([
      workers.run(batch.slice(20, 35)),
      workers.run(batch.slice(35)),
    ])
    t.same(
      viaWorkers.flat().map((r) => r.ok && r.inserted),
      batch.slice(20).map((_, i) => i >= 5),
      'overlap with the first batch is reported as duplicates',
    )
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE type = 'embedded.test'`,
    )
    t.equal(rows[0]!.n, 50)
    t.match(await ping(pool), { ok: true })
    await workers.close()
    await pool.end()
    const closing = embedded.close()
    t.equal(embedded.close(), closing, 'close() is idempotent')
    await closing
  })

  t.test('data survives close and reopen', async (t) => {
    const db = await openDatabase({ dataDir, poolSize: 2, extraConnections: 0 })
    t.teardown(() => db.close())
    t.equal(db.embedded, true)
    t.same((await migrate(db.pool)).applied, [], 'schema already current')
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events`)
    t.equal(rows[0]!.n, 50)
    const again = await storeBatch(db.pool, events('emb', 3))
    t.ok(
      again.every((r) => r.ok && !r.inserted),
      'dedup keys survived too',
    )
  })

  // PGlite 0.5 answered a store statement with a body nested 30,000 levels with no rows and no
  // error (its events would have looked stored already, and been acked), then stopped
  // answering: such JSON is stored without a jsonb payload (workers/insert.ts MAX_JSONB_DEPTH).
  t.test('JSON nested 30,000 levels: the batch stored, the database answering', async (t) => {
    const db = await openDatabase({ dataDir, poolSize: 2, extraConnections: 0 })
    t.teardown(() => db.close())
    const [plain, deep] = events('deep', 2)
    const body = Buffer.from(`{"type":"deep.kind","a":${'['.repeat(30_000)}${']'.repeat(30_000)}}`)
    const r = await storeBatch(db.pool, [plain!, { ...deep!, body }])
    t.ok(
      r.every((x) => x.ok && x.inserted),
      'both inserted',
    )
    const { rows } = await db.pool.query<{ id: string; type: string; payload: unknown }>(
      `SELECT id, type, payload FROM events WHERE id LIKE 'deep-%' ORDER BY id`,
    )
    t.same(rows, [
      { id: 'deep-0', type: 'embedded.test', payload: { i: 0 } },
      { id: 'deep-1', type: 'embedded.test', payload: null },
    ])
  })

  t.test(
    'two connections store batches of one size (one backend: no named statements)',
    async (t) => {
      const db = await openDatabase({ dataDir, poolSize: 1, extraConnections: 1 })
      const other = new pg.Pool({ connectionString: db.url, max: 1 })
      t.teardown(async () => {
        await other.end()
        await db.close()
      })
      // PGlite serves every connection from one backend: a statement named on one connection
      // exists for the others, and preparing it again fails (42P05), which cost an attempt.
      const results = []
      for (const [i, size] of [3, 3, 1, 1, 2, 2].entries()) {
        results.push(...(await storeBatch(i % 2 ? other : db.pool, events(`two-${i}`, size))))
      }
      t.same(
        results.filter((r) => !r.ok),
        [],
        'every event stored',
      )
      t.equal(results.length, 12)
    },
  )

  t.test('a data dir that cannot be used is a clear error, and options are checked', async (t) => {
    await t.rejects(startEmbeddedPostgres({ dataDir: '/dev/null' }), /embedded database/)
    await t.rejects(startEmbeddedPostgres({ dataDir: '' }), TypeError)
    await t.rejects(startEmbeddedPostgres({ dataDir, maxConnections: 0 }), /options.maxConnections/)
  })
})

failOnLeaks(t)
