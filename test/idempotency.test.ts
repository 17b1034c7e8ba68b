import t from 'tap'
import pg from 'pg'
import { migrate } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import type { StorableEvent } from '../src/event.js'
import { storeBatch } from '../workers/insert.js'
import { freshDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

const DAY = 86_400_000

function event(id: string, source = 'default', receivedAt = Date.now()): StorableEvent {
  return {
    id,
    source,
    receivedAt,
    contentType: 'application/json',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ id, n: 1 })),
    verifiedBy: null,
  }
}

t.test('idempotent upserts keyed by (source, id)', async (t) => {
  const db = await freshDatabase('sluice_idem')
  // Three pools: three distinct connections race on the same key.
  const pools = [1, 2, 3].map(() => new pg.Pool({ connectionString: db.url, max: 1 }))
  const pool = pools[0]!
  t.teardown(async () => {
    await Promise.all(pools.map((p) => p.end()))
    await db.drop()
  })
  await migrate(pool)
  await new Maintenance({ pool }).runOnce()
  const count = async (source: string, id: string) =>
    (
      await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM events WHERE source = $1 AND id = $2',
        [source, id],
      )
    ).rows[0]!.n

  t.test('the same event three times concurrently is one row', async (t) => {
    const results = await Promise.all(pools.map((p) => storeBatch(p, [event('evt-1')])))
    t.equal(await count('default', 'evt-1'), 1)
    const inserted = results.map((r) => r[0]!.ok && r[0]!.inserted)
    t.equal(inserted.filter(Boolean).length, 1, 'exactly one delivery reports inserted')
    t.ok(
      results.every((r) => r[0]!.ok),
      'all three are ok (duplicates are not failures)',
    )
  })

  t.test('the same id from two sources is two rows', async (t) => {
    const r = await storeBatch(pool, [event('evt-2', 'github'), event('evt-2', 'stripe')])
    t.same(
      r.map((x) => x.ok && x.inserted),
      [true, true],
    )
    t.equal(await count('github', 'evt-2'), 1)
    t.equal(await count('stripe', 'evt-2'), 1)
  })

  t.test('the same (source, id) on two different days is one row', async (t) => {
    const today = Date.now()
    const yesterday = today - DAY
    const first = await storeBatch(pool, [event('evt-3', 'default', yesterday)])
    const again = await storeBatch(pool, [event('evt-3', 'default', today)])
    t.same(first[0], { ok: true, inserted: true, processedAt: first[0]!.processedAt })
    t.same(again[0], { ok: true, inserted: false, processedAt: again[0]!.processedAt })
    const { rows } = await pool.query<{ part: string; received_at: Date }>(
      `SELECT tableoid::regclass::text AS part, received_at FROM events WHERE id = 'evt-3'`,
    )
    t.equal(rows.length, 1)
    t.equal(new Date(rows[0]!.received_at).getTime(), yesterday, 'the first delivery is kept')
  })

  t.test('duplicates within one batch are one row, each reported ok', async (t) => {
    const r = await storeBatch(pool, [event('evt-4'), event('evt-5'), event('evt-4')])
    t.same(
      r.map((x) => x.ok && x.inserted),
      [true, true, false],
    )
    t.equal(await count('default', 'evt-4'), 1)
  })

  t.test('overlapping concurrent batches: one row per key, no deadlock', async (t) => {
    const ids = Array.from({ length: 200 }, (_, i) => `ovl-${i}`)
    const batches = pools.map((p, k) =>
      storeBatch(
        p,
        (k % 2 ? ids.slice().reverse() : ids).map((id) => event(id)),
      ),
    )
    const results = await Promise.all(batches)
    const inserted = results.flat().filter((r) => r.ok && r.inserted).length
    t.equal(inserted, ids.length)
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM events WHERE id LIKE 'ovl-%'`,
    )
    t.same(rows[0], { n: ids.length, d: ids.length })
  })
})

failOnLeaks(t)
