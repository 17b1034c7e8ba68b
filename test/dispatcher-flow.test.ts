import t from 'tap'
import { dispatchDb, receiver, type DispatchDb, testDispatcher } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_dispatch_flow')
})

const events = (prefix: string, type: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    body: Buffer.from(JSON.stringify({ type, i })),
  }))
const sql = async <T>(text: string, params: unknown[]) =>
  (await db.pool.query(text, params)).rows as T[]

const FLOW = { pauseAfterFailures: 3, pauseAfterMs: 1000, probeIntervalMs: 1000 }

t.test(
  'a dead receiver is paused, probed without spending attempts, resumed by a 2xx',
  async (t) => {
    let alive = false
    const rx = await receiver((_r, res) => {
      res.statusCode = alive ? 200 : 503
      res.end()
    })
    const ops = await receiver()
    t.teardown(() => Promise.all([rx.close(), ops.close()]))
    const sub = await db.subscribe({ url: rx.url(), eventTypes: ['dead'], maxInFlight: 2 })
    await db.subscribe({ url: ops.url(), sources: ['sluice'] })
    await testDispatcher(t, db, { schedule: Array(20).fill(1), flow: FLOW }).start()
    await db.store(events('d', 'dead', 6))

    const pausedAt = async () =>
      (
        await sql<{ p: Date | null }>('SELECT paused_at AS p FROM subscriptions WHERE id = $1', [
          sub.id,
        ])
      )[0]!.p
    await until('paused', async () => (await pausedAt()) !== null, 30_000)
    const spent = async () =>
      (
        await sql<{ n: number }>(
          'SELECT sum(attempts)::int AS n FROM deliveries WHERE subscription_id = $1',
          [sub.id],
        )
      )[0]!.n
    const probes = () =>
      sql<{ at: Date; attempt: number }>(
        `SELECT attempted_at AS at, attempt FROM delivery_attempts
        WHERE subscription_id = $1 AND probe ORDER BY attempted_at`,
        [sub.id],
      )
    // Attempts under way when it paused are recorded after: wait for the first probe, past them.
    await until('a first probe', async () => (await probes()).length >= 1, 30_000)
    const before = await spent()
    await until('two more probes', async () => (await probes()).length >= 3, 30_000)
    t.equal(await spent(), before, 'probes spend no attempt, and nothing else went while paused')
    const log = await probes()
    const gaps = log.slice(1).map((p, i) => p.at.getTime() - log[i]!.at.getTime())
    t.ok(
      gaps.every((g) => g >= 900),
      `one probe per interval (1 s, jitter of the clock aside): gaps ${gaps.join(', ')} ms`,
    )

    alive = true
    await until(
      'all delivered',
      async () =>
        (
          await sql<{ n: number }>(
            `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'succeeded'`,
            [sub.id],
          )
        )[0]!.n === 6,
      30_000,
    )
    t.equal(await pausedAt(), null, 'the 2xx resumed it')
    const failed = await sql(
      'SELECT 1 FROM deliveries WHERE subscription_id = $1 AND status <> $2',
      [sub.id, 'succeeded'],
    )
    t.equal(failed.length, 0, 'nothing failed: the pause kept every delivery its attempts')

    const opTypes = async () =>
      (
        await sql<{ type: string; about: string }>(
          `SELECT type, payload #>> '{subscription,id}' AS about FROM events
          WHERE source = 'sluice' ORDER BY received_at`,
          [],
        )
      ).filter((e) => e.about === sub.id)
    await until('the resume is told', async () => (await opTypes()).length >= 2)
    t.same(
      (await opTypes()).map((e) => e.type),
      ['subscription.paused', 'subscription.resumed'],
      'one paused and one resumed event, in that order',
    )
    await until(
      'delivered to the subscriber of sluice events',
      async () => ops.received.length >= 2,
    )
    const told = ops.received.map((r) => JSON.parse(r.body.toString()) as { type: string })
    t.same(
      told.map((e) => e.type),
      ['subscription.paused', 'subscription.resumed'],
    )
    t.match(told[0], {
      subscription: { id: sub.id, url: rx.url() },
      reason: /failed attempts in a row since .*: the receiver answered 503/,
    })
  },
)

t.test(
  'a receiver answering 4xx is failing, not down: no pause, its deliveries fail on schedule',
  async (t) => {
    const rx = await receiver((_r, res) => {
      res.statusCode = 400
      res.end('bad payload')
    })
    t.teardown(() => rx.close())
    const sub = await db.subscribe({ url: rx.url(), eventTypes: ['rejects'] })
    await testDispatcher(t, db, { schedule: [1, 1], flow: FLOW }).start()
    await db.store(events('r', 'rejects', 4))
    await until('all failed finally', async () => {
      const r = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'failed'`,
        [sub.id],
      )
      return r[0]!.n === 4
    })
    const [row] = await sql<{
      paused_at: Date | null
      consecutive_failures: number
      failing: boolean
    }>(
      `SELECT paused_at, consecutive_failures, failing_since IS NOT NULL AS failing
       FROM subscriptions WHERE id = $1`,
      [sub.id],
    )
    t.same(
      row,
      { paused_at: null, consecutive_failures: 0, failing: true },
      'failing, never paused',
    )
    t.equal(rx.received.length, 12, 'three attempts each: its schedule, none withheld')
  },
)

t.test('a deleted subscription taken up again starts with no pause or failures', async (t) => {
  const sub = await db.subscribe({ url: 'https://again.example/hook', eventTypes: ['again'] })
  await db.pool.query(
    `UPDATE subscriptions SET paused_at = now(), consecutive_failures = 50,
       failing_since = now() - interval '200 hours' WHERE id = $1`,
    [sub.id],
  )
  await db.pool.query(`UPDATE subscriptions SET status = 'deleted' WHERE id = $1`, [sub.id])
  const again = await db.subscribe({ url: 'https://again.example/hook', eventTypes: ['again'] })
  t.equal(again.id, sub.id, 'the same row')
  const [row] = await sql<Record<string, unknown>>(
    `SELECT status, paused_at, consecutive_failures, failing_since FROM subscriptions WHERE id = $1`,
    [sub.id],
  )
  t.same(row, { status: 'active', paused_at: null, consecutive_failures: 0, failing_since: null })
})

failOnLeaks(t, { closeFirst: () => db.drop() })
