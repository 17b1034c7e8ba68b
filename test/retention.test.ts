import t from 'tap'
import pg from 'pg'
import { migrate } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import {
  addDays,
  ensurePartition,
  listPartitions,
  partitionName,
  utcDay,
} from '../src/db/partitions.js'
import type { StorableEvent } from '../src/event.js'
import { storeBatch } from '../workers/insert.js'
import { freshDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

function event(id: string, receivedAt: number): StorableEvent {
  return {
    id,
    source: 'default',
    receivedAt,
    contentType: 'text/plain',
    headers: {},
    body: Buffer.from(id),
    verifiedBy: null,
  }
}

t.test('partitions and retention', async (t) => {
  const db = await freshDatabase('sluice_retention')
  const pool = new pg.Pool({ connectionString: db.url, max: 3 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  const now = new Date()
  const today = utcDay(now)
  const m = new Maintenance({ pool, retentionDays: 30 })

  t.test('creates today-1 .. today+3 and nothing twice', async (t) => {
    const first = await m.runOnce(now)
    t.same(
      first.created,
      [-1, 0, 1, 2, 3].map((d) => partitionName(addDays(today, d))),
    )
    const second = await m.runOnce(now)
    t.same(second, { ran: true, created: [], dropped: [], deliveriesDeleted: 0 })
  })

  t.test('only one node runs a round at a time', async (t) => {
    const other = await pool.connect()
    try {
      await other.query('SELECT pg_advisory_lock(5317911002)')
      t.same(await m.runOnce(now), { ran: false, created: [], dropped: [], deliveriesDeleted: 0 })
      await other.query('SELECT pg_advisory_unlock(5317911002)')
      t.equal((await m.runOnce(now)).ran, true)
    } finally {
      other.release()
    }
  })

  t.test('a partition created later takes over rows parked in the default partition', async (t) => {
    const lateDay = addDays(today, -5)
    const e = event('parked', lateDay.getTime() + 3_600_000)
    t.match(await storeBatch(pool, [e]), [{ ok: true, inserted: true }])
    const where = async () =>
      (
        await pool.query<{ p: string }>(
          `SELECT tableoid::regclass::text AS p FROM events WHERE id = 'parked'`,
        )
      ).rows[0]!.p
    t.equal(await where(), 'events_default')
    const client = await pool.connect()
    try {
      t.equal(await ensurePartition(client, lateDay), true)
    } finally {
      client.release()
    }
    t.equal(await where(), partitionName(lateDay))
  })

  t.test('retention drops expired partitions with their keys and keeps the rest', async (t) => {
    const oldDay = addDays(today, -40)
    const client = await pool.connect()
    try {
      await ensurePartition(client, oldDay)
    } finally {
      client.release()
    }
    const expired = event('expired', oldDay.getTime() + 1000)
    const expiredDefault = event('expired-default', addDays(today, -60).getTime())
    const kept = event('kept', now.getTime())
    const r = await storeBatch(pool, [expired, expiredDefault, kept])
    t.ok(r.every((x) => x.ok && x.inserted))

    const run = await m.runOnce(now)
    t.same(run.dropped, [partitionName(oldDay)])
    const names = (await listPartitions(pool as unknown as pg.ClientBase)).map((p) => p.name)
    t.notOk(names.includes(partitionName(oldDay)), 'expired partition gone')
    t.ok(names.includes(partitionName(today)), 'today kept')
    t.ok(names.includes(partitionName(addDays(today, -5))), 'recent kept')
    const ids = (await pool.query<{ id: string }>('SELECT id FROM events ORDER BY id')).rows.map(
      (x) => x.id,
    )
    t.same(ids, ['kept', 'parked'])
    const keys = (
      await pool.query<{ id: string }>('SELECT id FROM event_keys ORDER BY id')
    ).rows.map((x) => x.id)
    t.same(keys, ['kept', 'parked'], 'keys of dropped events deleted, others kept')
  })

  t.test('partitions use lz4 compression for body, payload and headers', async (t) => {
    const { rows } = await pool.query<{ attname: string; attcompression: string }>(
      `SELECT a.attname, a.attcompression FROM pg_attribute a
       WHERE a.attrelid = $1::regclass AND a.attname IN ('body', 'payload', 'headers')
       ORDER BY 1`,
      [partitionName(today)],
    )
    t.same(
      rows.map((r) => `${r.attname}:${r.attcompression}`),
      ['body:l', 'headers:l', 'payload:l'],
    )
    const def = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'events_default'::regclass
       AND attname IN ('body', 'payload', 'headers') AND attcompression = 'l'`,
    )
    t.equal(def.rows[0]!.n, 3, 'the default partition too')
  })

  t.test('start() runs at once and close() is idempotent', async (t) => {
    const m2 = new Maintenance({ pool, intervalMs: 3_600_000 })
    t.equal((await m2.start()).ran, true)
    const c = m2.close()
    t.equal(m2.close(), c)
    await c
  })

  t.test('options are checked', async (t) => {
    t.throws(() => new Maintenance({ pool, retentionDays: 0 }), TypeError)
    t.throws(() => new Maintenance({ pool, daysAhead: -1 }), /options.daysAhead/)
  })
})

failOnLeaks(t)
