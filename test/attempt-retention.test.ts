import t from 'tap'
import pg from 'pg'
import { migrate } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import { addDays, ATTEMPTS, ensurePartition, partitionName, utcDay } from '../src/db/partitions.js'
import { freshDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

const OWNER = '00000000-0000-4000-8000-000000000001'
const SUB = '00000000-0000-4000-8000-000000000002'

t.test('the attempt log has daily partitions and leaves with the retention', async (t) => {
  const db = await freshDatabase('sluice_attempt_ret')
  const pool = new pg.Pool({ connectionString: db.url, max: 3 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  const now = new Date()
  const today = utcDay(now)
  const insert = (deliveryId: number, at: Date) =>
    pool.query(
      `INSERT INTO delivery_attempts (delivery_id, subscription_id, attempt, attempted_at,
         duration_ms, owner, node) VALUES ($1, $2, 1, $3, 5, $4, 'test')`,
      [deliveryId, SUB, at.toISOString(), OWNER],
    )
  const where = async (deliveryId: number) =>
    (
      await pool.query<{ t: string }>(
        'SELECT tableoid::regclass::text AS t FROM delivery_attempts WHERE delivery_id = $1',
        [deliveryId],
      )
    ).rows.map((r) => r.t)

  // An attempt before any maintenance lands in the default partition and is moved out later.
  await insert(1, now)
  t.same(await where(1), ['delivery_attempts_default'])
  const m = new Maintenance({ pool, retentionDays: 30 })
  const first = await m.runOnce(now)
  t.same(
    first.attempts?.created,
    [-1, 0, 1, 2, 3].map((d) => partitionName(addDays(today, d), ATTEMPTS)),
    'the same days as events',
  )
  t.same(
    first.created,
    [-1, 0, 1, 2, 3].map((d) => partitionName(addDays(today, d))),
  )
  t.same(await where(1), [partitionName(today, ATTEMPTS)], 'moved out of the default partition')
  t.same(
    await m.runOnce(now),
    { ran: true, created: [], dropped: [], deliveriesDeleted: 0 },
    'nothing twice',
  )

  // An expired day is dropped whole, a recent one kept; old rows in the default go too.
  const oldDay = addDays(today, -40)
  const client = await pool.connect()
  try {
    await ensurePartition(client, oldDay, ATTEMPTS)
    await ensurePartition(client, addDays(today, -5), ATTEMPTS)
  } finally {
    client.release()
  }
  await insert(2, new Date(oldDay.getTime() + 3600_000))
  await insert(3, new Date(addDays(today, -5).getTime() + 3600_000))
  await insert(4, addDays(today, -60))
  t.same(await where(4), ['delivery_attempts_default'])
  const run = await m.runOnce(now)
  t.same(run.attempts?.dropped, [partitionName(oldDay, ATTEMPTS)])
  t.same(run.dropped, [], 'no events partition was old')
  t.same(await where(2), [], 'the expired day left')
  t.same(await where(4), [], 'an expired row in the default partition left')
  t.same(await where(3), [partitionName(addDays(today, -5), ATTEMPTS)], 'a recent day kept')
  t.same(await where(1), [partitionName(today, ATTEMPTS)], 'today kept')
})

t.test(
  'completed deliveries leave after the retention; pending ones stay whatever their age',
  async (t) => {
    const db = await freshDatabase('sluice_delivery_ret')
    const pool = new pg.Pool({ connectionString: db.url, max: 3 })
    t.teardown(async () => {
      await pool.end()
      await db.drop()
    })
    await migrate(pool)
    await pool.query(
      `INSERT INTO subscriptions (id, url, match_key, secret) VALUES ($1, 'https://example.com', 'k', '\\x00')`,
      [SUB],
    )
    const now = new Date()
    const add = (eventId: string, status: string, completedDaysAgo: number | null) =>
      pool.query(
        `INSERT INTO deliveries (subscription_id, source, event_id, received_at, status, completed_at)
       VALUES ($1, 'default', $2, $3, $4, $5)`,
        [
          SUB,
          eventId,
          addDays(now, -50).toISOString(),
          status,
          completedDaysAgo === null ? null : addDays(now, -completedDaysAgo).toISOString(),
        ],
      )
    await add('old-ok', 'succeeded', 31)
    await add('old-failed', 'failed', 40)
    await add('old-cancelled', 'cancelled', 35)
    await add('recent-ok', 'succeeded', 29)
    await add('old-pending', 'pending', null)
    const run = await new Maintenance({ pool, retentionDays: 30 }).runOnce(now)
    t.equal(run.deliveriesDeleted, 3)
    const { rows } = await pool.query<{ event_id: string }>(
      'SELECT event_id FROM deliveries ORDER BY event_id',
    )
    t.same(
      rows.map((r) => r.event_id),
      ['old-pending', 'recent-ok'],
    )
  },
)

failOnLeaks(t)
