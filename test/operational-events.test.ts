import t from 'tap'
import { writeDeadLetters } from '../src/db/dead-letters.js'
import { replay } from '../src/db/replay.js'
import { dispatchDb, receiver, type DispatchDb, testDispatcher } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_operational_events')
})

interface Told {
  type: string
  at: string
  reason: string
  subscription?: { id: string; url: string }
  delivery?: { id: string; event: { source: string; id: string } }
  event?: { source: string; id: string }
}

const stored = async () =>
  (
    await db.pool.query<{ id: string; type: string; payload: Told }>(
      `SELECT id, type, payload FROM events WHERE source = 'sluice' ORDER BY received_at`,
    )
  ).rows

t.test('Sluice tells its own changes as events of the source sluice', async (t) => {
  const told = await receiver()
  const everything = await receiver()
  const gone = await receiver((_r, res) => {
    res.statusCode = 410
    res.end()
  })
  const failing = await receiver((_r, res) => {
    res.statusCode = 500
    res.end('down')
  })
  // Takes only Sluice's events, and fails them all: it must not make events about itself.
  const loop = await receiver((_r, res) => {
    res.statusCode = 500
    res.end()
  })
  t.teardown(() => Promise.all([told, everything, gone, failing, loop].map((r) => r.close())))
  const ops = await db.subscribe({ url: told.url(), sources: ['sluice'] })
  await db.subscribe({ url: everything.url() })
  const goneSub = await db.subscribe({ url: gone.url(), eventTypes: ['ops.gone'] })
  const failingSub = await db.subscribe({ url: failing.url(), eventTypes: ['ops.fail'] })
  const loopSub = await db.subscribe({ url: loop.url(), sources: ['sluice'] })
  await testDispatcher(t, db, {
    schedule: [1],
    flow: { pauseAfterFailures: 2, pauseAfterMs: 1, probeIntervalMs: 60_000 },
  }).start()

  await db.store([
    { id: 'g1', body: Buffer.from('{"type":"ops.gone"}') },
    { id: 'f1', body: Buffer.from('{"type":"ops.fail"}') },
  ])
  await writeDeadLetters(db.pool, [
    {
      event: {
        id: 'dl1',
        source: 'default',
        receivedAt: Date.now(),
        contentType: 'text/plain',
        headers: {},
        body: Buffer.from('x'),
        verifiedBy: null,
      },
      reason: 'attempts_exhausted',
      attempts: 5,
      error: 'boom',
    },
  ])

  await until('disabled, failed and dead letter told', async () => {
    const all = await stored()
    const has = (type: string, about?: string) =>
      all.some((e) => e.type === type && (!about || e.payload.subscription?.id === about))
    return (
      has('subscription.disabled') &&
      has('delivery.failed', failingSub.id) &&
      has('dead_letter.created')
    )
  })
  const events = await stored()
  const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.payload)
  t.match(of('subscription.disabled'), [
    { subscription: { id: goneSub.id, url: gone.url() }, reason: /410 Gone/ },
  ])
  t.match(
    of('delivery.failed').filter((p) => p.subscription?.id === failingSub.id),
    [
      {
        delivery: { id: /^\d+$/, event: { source: 'default', id: 'f1' } },
        event: { source: 'default', id: 'f1' },
        reason: 'the receiver answered 500',
      },
    ],
  )
  t.match(of('dead_letter.created'), [
    { event: { source: 'default', id: 'dl1' }, reason: 'attempts_exhausted: boom' },
  ])
  for (const e of events) t.match(e.payload, { type: e.type, at: /^\d{4}-\d\d-\d\dT/ })

  await until('delivered to the subscriber of sluice', () => told.received.length >= events.length)
  const got = told.received.map((r) => (JSON.parse(r.body.toString()) as Told).type).sort()
  t.same(got, events.map((e) => e.type).sort(), 'signed and delivered like any event')
  t.ok(told.received.every((r) => typeof r.headers['webhook-signature'] === 'string'))
  const operational = /^(subscription|delivery|dead_letter)\./
  t.notOk(
    everything.received.some((r) =>
      operational.test((JSON.parse(r.body.toString()) as { type: string }).type),
    ),
    'a subscription without sources does not get them',
  )

  // The loop subscription failed every sluice event (finally, schedule [1]) and was paused.
  await until('the loop subscription paused', async () => {
    const r = await db.pool.query<{ paused_at: Date | null }>(
      'SELECT paused_at FROM subscriptions WHERE id = $1',
      [loopSub.id],
    )
    return r.rows[0]?.paused_at !== null
  })
  const about = (await stored()).filter(
    (e) => e.payload.subscription?.id === loopSub.id || e.payload.event?.source === 'sluice',
  )
  t.same(about, [], 'no event about a subscription taking only sluice, nor about a sluice event')

  const before = told.received.length
  const r = await replay(db.pool, { source: 'sluice', subscriptionId: ops.id }, false)
  t.equal(r.count, events.length, 'replayable like any event')
  await until('replayed', () => told.received.length >= before + events.length)
})

failOnLeaks(t, { closeFirst: () => db.drop() })
