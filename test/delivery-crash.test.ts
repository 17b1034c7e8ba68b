import t from 'tap'
import { webhookId } from '../src/dispatcher/request.js'
import { receiver } from './helpers/dispatch.js'
import { deliveryEngine } from './helpers/delivery-engine.js'
import { failOnLeaks } from './helpers/leaks.js'
import { postMany } from './helpers/post.js'
import { until } from './helpers/wait.js'

const EVENTS = Number(process.env.CRASH_EVENTS ?? 600)

t.test('kill -9 with deliveries in flight: after a restart every event is delivered', async (t) => {
  const { engine, pool, subscribe } = await deliveryEngine(t, 'sluice_delivery_crash', {
    SLUICE_DELIVERY_SCHEDULE: '1,1,1,1,1',
  })
  // Per webhook-id: requests received, and when the first one came.
  const requests = new Map<string, number>()
  const first = new Map<string, number>()
  let killedAt = Infinity
  const rx = await receiver((r, res) => {
    const id = String(r.headers['webhook-id'])
    requests.set(id, (requests.get(id) ?? 0) + 1)
    if (!first.has(id)) first.set(id, r.at)
    // Answers take a while, so deliveries are in flight when the engine dies.
    setTimeout(() => res.end('ok'), 20 + Math.random() * 80)
  })
  t.teardown(() => rx.close())
  await subscribe({ url: rx.url(), maxInFlight: 20 })

  const posting = postMany({
    url: () => engine.url,
    count: EVENTS,
    concurrency: 8,
    idPrefix: 'crash',
  })
  await until('40 % were delivered', () => requests.size >= EVENTS * 0.4, 120_000, 5)
  const deliveredAtKill = requests.size
  await engine.kill9()
  // After the process is gone: a request it sent just before dying may be read a moment later.
  killedAt = Date.now()
  await engine.start()
  const acked = await posting
  t.ok(deliveredAtKill < EVENTS, `killed mid-stream (${deliveredAtKill} of ${EVENTS} had arrived)`)
  t.equal(acked.size, EVENTS, 'every event acknowledged (senders retry through the restart)')
  const ids = [...acked].map((id) => webhookId('default', id))
  await until(
    'every event reached the subscriber',
    () => ids.every((id) => requests.has(id)),
    120_000,
    100,
  )
  await until(
    'every delivery is recorded as succeeded',
    async () =>
      (await pool.query("SELECT 1 FROM deliveries WHERE status = 'succeeded'")).rowCount === EVENTS,
    120_000,
    200,
  )
  const twice = ids.filter((id) => requests.get(id)! > 1)
  const extra = twice.reduce((n, id) => n + requests.get(id)! - 1, 0)
  t.ok(
    twice.every((id) => first.get(id)! <= killedAt),
    'only deliveries already started before the kill were sent again',
  )
  const atKill = [...first.values()].filter((at) => at <= killedAt).length
  t.comment(
    `${EVENTS} events, ${atKill} first requests before the kill; duplicates: ${twice.length} ` +
      `deliveries sent more than once (${extra} extra requests), each in flight at the kill`,
  )
})

failOnLeaks(t)
