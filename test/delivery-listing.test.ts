import t from 'tap'
import pg from 'pg'
import { migrate } from '../src/db/migrate.js'
import { listDeliveries } from '../src/db/delivery-queries.js'
import { freshDatabase } from './helpers/pg.js'

// Migration 0014 dropped the (subscription_id, id DESC) index: the listing of every status
// merges one range per status. It must page exactly like ORDER BY id DESC over all of them.
t.test('a subscription listing of every status, newest first, paged', async (t) => {
  const db = await freshDatabase('sluice_listing')
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  const { rows: subs } = await pool.query<{ id: string }>(
    `INSERT INTO subscriptions (id, url, match_key, secret)
     SELECT gen_random_uuid(), 'http://127.0.0.1:1/' || g, 'k' || g, '\\x00'
     FROM generate_series(1, 2) g RETURNING id`,
  )
  const [mine, other] = [subs[0]!.id, subs[1]!.id]
  // Statuses interleaved by id, and another subscription's rows between them.
  await pool.query(
    `INSERT INTO deliveries (subscription_id, source, event_id, received_at, status)
     SELECT CASE WHEN g % 5 = 0 THEN $2::uuid ELSE $1::uuid END, 'default', 'e' || g, now(),
       (ARRAY['pending', 'succeeded', 'failed', 'cancelled'])[1 + (g * 7 % 4)]
     FROM generate_series(1, 120) g`,
    [mine, other],
  )
  const { rows: expected } = await pool.query<{ id: string; status: string }>(
    `SELECT d.id::text, d.status FROM deliveries d WHERE d.subscription_id = $1 ORDER BY d.id DESC`,
    [mine],
  )
  t.equal(new Set(expected.map((r) => r.status)).size, 4, 'every status is there')

  const seen: string[] = []
  let before: string | undefined
  for (;;) {
    const page = await listDeliveries(pool, { subscriptionId: mine, limit: 7, before })
    if (page.length === 0) break
    t.ok(page.length <= 7, 'a page holds at most the limit')
    seen.push(...page.map((d) => d.id))
    t.ok(
      page.every((d) => d.subscriptionId === mine),
      'only the subscription asked for',
    )
    before = page.at(-1)!.id
  }
  t.same(
    seen,
    expected.map((r) => r.id),
    'the pages are every delivery, newest first',
  )

  const failed = await listDeliveries(pool, { subscriptionId: mine, status: 'failed', limit: 100 })
  t.same(
    failed.map((d) => d.id),
    expected.filter((r) => r.status === 'failed').map((r) => r.id),
    'one status: its deliveries, newest first',
  )

  await t.rejects(
    pool.query(`UPDATE deliveries SET status = 'done' WHERE id = $1`, [expected[0]!.id]),
    { code: '23514' },
    'a status the listing does not know is refused',
  )
})
