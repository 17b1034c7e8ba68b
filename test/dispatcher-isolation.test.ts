import t, { type Test } from 'tap'
import type { ServerResponse } from 'node:http'
import {
  dispatchDb,
  receiver,
  type DispatchDb,
  testDispatcher,
  type DispatcherOptions,
} from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_dispatch_iso')
})

const dispatcher = (t: Test, extra: Partial<DispatcherOptions> = {}) => testDispatcher(t, db, extra)

const events = (prefix: string, type: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    body: Buffer.from(JSON.stringify({ type, i })),
  }))
const succeeded = async (sub: string) =>
  (
    await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'succeeded'`,
      [sub],
    )
  ).rows[0]!.n
t.test('hanging, slow and failing subscribers do not hold up a healthy one', async (t) => {
  const N = 200
  const hung: ServerResponse[] = []
  const hanging = await receiver((_r, res) => void hung.push(res))
  const slow = await receiver((_r, res) => void setTimeout(() => res.end(), 1000))
  const failing = await receiver((_r, res) => {
    res.statusCode = 500
    res.end()
  })
  const healthy = await receiver()
  t.teardown(async () => {
    for (const res of hung) res.destroy()
    await Promise.all([hanging, slow, failing, healthy].map((r) => r.close()))
  })
  const subs = {
    hanging: await db.subscribe({ url: hanging.url(), eventTypes: ['mix'], maxInFlight: 5 }),
    slow: await db.subscribe({ url: slow.url(), eventTypes: ['mix'], maxInFlight: 5 }),
    failing: await db.subscribe({ url: failing.url(), eventTypes: ['mix'], maxInFlight: 5 }),
    healthy: await db.subscribe({ url: healthy.url(), eventTypes: ['mix'], maxInFlight: 10 }),
  }
  // The hanging receiver's attempts run for 20 s: the healthy one must be done long before.
  const d = dispatcher(t, { timeoutMs: 20_000 })
  await d.start()
  // Reported, not asserted (timing): the healthy one alone first, as the yardstick.
  const alone = await receiver()
  t.teardown(() => alone.close())
  const yardstick = await db.subscribe({ url: alone.url(), eventTypes: ['alone'], maxInFlight: 10 })
  const aloneStarted = Date.now()
  await db.store(events('a', 'alone', N))
  await until('the yardstick got every event', async () => (await succeeded(yardstick.id)) === N)
  const aloneMs = Date.now() - aloneStarted
  const started = Date.now()
  await db.store(events('m', 'mix', N))
  await until('the healthy subscriber got every event', async () => {
    return (await succeeded(subs.healthy.id)) === N
  })
  const healthyMs = Date.now() - started
  const hangingLog = await db.pool.query(
    'SELECT 1 FROM delivery_attempts WHERE subscription_id = $1',
    [subs.hanging.id],
  )
  t.equal(hangingLog.rowCount, 0, 'all healthy deliveries done while no hanging attempt had ended')
  t.equal(hung.length, 5, 'the hanging one holds exactly its maxInFlight, no more')
  t.ok(failing.received.length >= 1, 'the failing one was attempted')
  t.match(
    d.lanesView().find((l) => l.subscriptionId === subs.failing.id)?.flow,
    { state: 'narrowed', inFlightLimit: 1 },
    'flow control narrowed the failing one to one attempt at a time',
  )
  t.comment(
    `healthy: ${N} deliveries in ${healthyMs} ms beside hanging/slow/failing, ${aloneMs} ms ` +
      `alone (ratio ${(aloneMs / healthyMs).toFixed(2)}); slow got ` +
      `${slow.received.length}, failing ${failing.received.length}, hanging ${hung.length}`,
  )
})

t.test('maxInFlight and the rate limit bound what one subscription gets', async (t) => {
  let active = 0
  let peak = 0
  const capped = await receiver((_r, res) => {
    peak = Math.max(peak, ++active)
    setTimeout(() => {
      active--
      res.end()
    }, 100)
  })
  const limited = await receiver()
  t.teardown(() => Promise.all([capped.close(), limited.close()]))
  const a = await db.subscribe({ url: capped.url(), eventTypes: ['cap'], maxInFlight: 2 })
  const b = await db.subscribe({
    url: limited.url(),
    eventTypes: ['rate'],
    rateLimit: { perSecond: 5, burst: 2 },
  })
  await dispatcher(t).start()
  await db.store([...events('c', 'cap', 12), ...events('r', 'rate', 10)])
  await until('capped done', async () => (await succeeded(a.id)) === 12, 60_000)
  await until('limited done', async () => (await succeeded(b.id)) === 10, 60_000)
  t.equal(peak, 2, 'never more than maxInFlight at once, and it was used')
  const span = limited.received.at(-1)!.at - limited.received[0]!.at
  // A burst of 2, then 5 a second: the 10th request cannot leave before (10 - 2) / 5 s. Measured
  // at the receiver, the first request's extra latency (a new connection, a loaded machine) comes
  // off the span, hence the slack; unlimited, the 10 would arrive within milliseconds.
  t.ok(span >= 1400, `10 requests at 5/s with a burst of 2 took ${span} ms (>= 1.6 s sent)`)
})

failOnLeaks(t, { closeFirst: () => db.drop() })
