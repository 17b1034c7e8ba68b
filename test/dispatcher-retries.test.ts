import t, { type Test } from 'tap'
import { dispatchDb, receiver, type DispatchDb, testDispatcher } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_dispatch_retry')
})

// A long poll: retries must be woken by their due time, not by the poll.
const dispatcher = (t: Test, schedule: number[]) =>
  testDispatcher(t, db, { schedule, pollMs: 60_000 })

const delivery = async (eventId: string) =>
  (
    await db.pool.query<{ status: string; attempts: number; last_status: number | null }>(
      'SELECT status, attempts, last_status, last_error FROM deliveries WHERE event_id = $1',
      [eventId],
    )
  ).rows[0]
const attempts = async (eventId: string) =>
  (
    await db.pool.query<{ attempt: number; status_code: number | null; error: string | null }>(
      `SELECT a.attempt, a.status_code, a.error FROM delivery_attempts a
       JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1 ORDER BY a.attempt`,
      [eventId],
    )
  ).rows
const event = (id: string, type: string) => ({ id, body: Buffer.from(JSON.stringify({ type })) })

t.test('a 500 is retried on the schedule until a 2xx', async (t) => {
  let calls = 0
  const rx = await receiver((_r, res) => {
    res.statusCode = ++calls <= 2 ? 500 : 204
    res.end(calls <= 2 ? 'broken' : '')
  })
  t.teardown(() => rx.close())
  await db.subscribe({ url: rx.url(), eventTypes: ['retry.500'] })
  await dispatcher(t, [1, 1, 1]).start()
  await db.store([event('r1', 'retry.500')])
  await until('succeeded', async () => (await delivery('r1'))?.status === 'succeeded', 30_000)
  t.match(await delivery('r1'), { status: 'succeeded', attempts: 3, last_status: 204 })
  t.same(await attempts('r1'), [
    { attempt: 1, status_code: 500, error: 'status_5xx' },
    { attempt: 2, status_code: 500, error: 'status_5xx' },
    { attempt: 3, status_code: 204, error: null },
  ])
  t.equal(rx.received.length, 3, 'three requests')
  const gaps = rx.received.slice(1).map((r, i) => r.at - rx.received[i]!.at)
  // The schedule's 1 s minus 20 % jitter: a retry that came sooner did not wait its turn.
  t.ok(
    gaps.every((g) => g >= 790),
    `each retry waited its step (gaps ${gaps.join(', ')} ms)`,
  )
  const ids = new Set(rx.received.map((r) => r.headers['webhook-id']))
  t.equal(ids.size, 1, 'the same webhook-id on every attempt')
})

t.test('Retry-After pushes the retry later than the schedule', async (t) => {
  let calls = 0
  const rx = await receiver((_r, res) => {
    if (++calls === 1) res.writeHead(503, { 'retry-after': '3' })
    res.end()
  })
  t.teardown(() => rx.close())
  await db.subscribe({ url: rx.url(), eventTypes: ['retry.after'] })
  await dispatcher(t, [1, 1, 1]).start()
  await db.store([event('ra1', 'retry.after')])
  await until('succeeded', async () => (await delivery('ra1'))?.status === 'succeeded', 30_000)
  const gap = rx.received[1]!.at - rx.received[0]!.at
  t.ok(gap >= 2990, `waited the 3 s it asked for, not the 1 s step (${gap} ms)`)
  t.same(
    (await attempts('ra1')).map((a) => a.status_code),
    [503, 200],
  )
})

t.test('410 fails the delivery and disables the subscription at once', async (t) => {
  const gone = await receiver((_r, res) => {
    res.statusCode = 410
    res.end('gone')
  })
  const healthy = await receiver()
  t.teardown(() => Promise.all([gone.close(), healthy.close()]))
  const sub = await db.subscribe({ url: gone.url(), eventTypes: ['gone.*'] })
  await db.subscribe({ url: healthy.url(), eventTypes: ['gone.later'] })
  await dispatcher(t, [1, 1, 1]).start()
  await db.store([event('g1', 'gone.first')])
  await until('failed', async () => (await delivery('g1'))?.status === 'failed', 30_000)
  const subscription = async () =>
    (
      await db.pool.query<{ status: string; disabled_reason: string }>(
        'SELECT status, disabled_reason FROM subscriptions WHERE id = $1',
        [sub.id],
      )
    ).rows[0]
  // The disabling statement follows the one recording the result, in the same write.
  await until('disabled', async () => (await subscription())?.status === 'disabled', 10_000)
  t.match(await subscription(), { status: 'disabled', disabled_reason: /410/ })
  t.match(await delivery('g1'), { attempts: 1, last_status: 410, last_error: 'gone' })
  t.same(
    (
      await db.pool.query(
        `SELECT a.status_code, a.error, a.message FROM delivery_attempts a
          JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = 'g1'`,
      )
    ).rows,
    [{ status_code: 410, error: 'gone', message: '410 Gone: subscription disabled' }],
    'the 410 attempt says why it failed',
  )
  // Made before the fan-out saw the change? No: the subscription is disabled, so only the
  // healthy one gets a delivery; and nothing more reaches the gone receiver.
  await db.store([event('g2', 'gone.later')])
  await until('the healthy one got g2', () => healthy.received.length === 1, 30_000)
  t.equal(gone.received.length, 1, 'the disabled subscription got nothing more')
})

t.test(
  'after the last step the delivery is failed; a 3xx is a failure, not followed',
  async (t) => {
    let followed = 0
    const target = await receiver(() => void followed++)
    const moved = await receiver((_r, res) => {
      res.writeHead(302, { location: target.url() })
      res.end()
    })
    t.teardown(() => Promise.all([target.close(), moved.close()]))
    await db.subscribe({ url: moved.url(), eventTypes: ['moved'] })
    await dispatcher(t, [1]).start()
    await db.store([event('m1', 'moved')])
    await until('failed', async () => (await delivery('m1'))?.status === 'failed', 30_000)
    t.match(await delivery('m1'), { attempts: 2, last_status: 302, last_error: 'redirect' })
    t.equal(moved.received.length, 2, 'one step: two attempts in all')
    t.equal(followed, 0, 'the redirect was never followed')
  },
)

failOnLeaks(t, { closeFirst: () => db.drop() })
