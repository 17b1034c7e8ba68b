import type { ServerResponse } from 'node:http'
import t from 'tap'
import { startAdminEngine } from './helpers/admin-engine.js'
import { receiver } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'

const TOKEN = 'admin-deliveries-token-0123456789'

interface Delivery {
  id: string
  subscriptionId: string
  source: string
  eventId: string
  generation: number
  status: string
  attempts: number
  nextAttemptAt: string | null
  inFlight: boolean
  lastStatus: number | null
}
interface Page<T> {
  data: T[]
  nextCursor: string | null
}

t.test('deliveries, attempts, retry and replay through the admin API', async (t) => {
  const healthy = await receiver()
  // Fails until told otherwise, so a failed delivery can be retried into a success.
  let failing = true
  const flaky = await receiver((_r, res) => {
    res.statusCode = failing ? 500 : 200
    res.end(failing ? 'down for maintenance' : 'ok')
  })
  t.teardown(() => Promise.all([healthy.close(), flaky.close()]))
  const { call, webhook } = await startAdminEngine(t, {
    SLUICE_ADMIN_TOKEN: TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    SLUICE_DELIVERY_SCHEDULE: '0.2,0.2',
    SLUICE_DELIVERY_TIMEOUT_MS: '10000',
  })
  const ok = (await call('POST', '/v1/subscriptions', { body: { url: healthy.url() } })).json as {
    id: string
  }
  const bad = (
    await call('POST', '/v1/subscriptions', {
      body: { url: flaky.url(), eventTypes: ['order.ref*'] },
    })
  ).json as { id: string }

  for (let i = 0; i < 3; i++) {
    const body = JSON.stringify({ type: i === 2 ? 'order.refunded' : 'order.paid', n: i })
    t.equal((await post(webhook, body, { 'idempotency-key': `d-${i}` })).status, 200)
    // One at a time: events in flight together may be stored by two workers in either order.
    await until(`the healthy subscriber got d-${i}`, () => healthy.received.length > i, 30_000)
  }

  await until('/v1/status counts the deliveries', async () => {
    const status = (await call('GET', '/v1/status')).json as { totals: { delivered: number } }
    return status.totals.delivered >= 3
  })
  const page = async (id: string, query = '') =>
    (await call('GET', `/v1/subscriptions/${id}/deliveries${query}`)).json as Page<Delivery>
  await until('the flaky subscription has spent its schedule', async () => {
    const failed = await page(bad.id, '?status=failed')
    return failed.data.length === 1
  })
  const okPage = await page(ok.id)
  t.equal(okPage.data.length, 3, 'one delivery per event for the catch-all subscription')
  t.ok(
    okPage.data.every(
      (d) =>
        d.status === 'succeeded' && d.attempts === 1 && d.nextAttemptAt === null && !d.inFlight,
    ),
    'each succeeded at the first attempt, and is due no more',
  )
  t.same(
    okPage.data.map((d) => d.eventId),
    ['d-2', 'd-1', 'd-0'],
    'newest first',
  )
  t.same((await page(bad.id, '?status=pending')).data, [], 'no pending delivery is left')
  t.equal((await page(bad.id)).data.length, 1, 'only order.refunded matched order.ref*')

  const first = await page(ok.id, '?limit=2')
  t.equal(first.data.length, 2)
  t.type(first.nextCursor, 'string', 'a cursor when more follow')
  const second = await page(ok.id, `?limit=2&cursor=${first.nextCursor}`)
  t.same(
    second.data.map((d) => d.eventId),
    ['d-0'],
    'the cursor continues where the page ended',
  )
  t.equal(second.nextCursor, null, 'no cursor on the last page')

  // The subscription list shows how each subscriber is doing.
  const subs = (await call('GET', '/v1/subscriptions')).json as Page<{
    id: string
    delivery: { pending: number; failed: number; breaker: string; failingSince: string | null }
  }>
  const flakyRow = subs.data.find((s) => s.id === bad.id)!
  t.equal(flakyRow.delivery.failed, 1, 'failed deliveries counted')
  t.type(flakyRow.delivery.failingSince, 'string', 'failing since its first failure')
  t.equal(subs.data.find((s) => s.id === ok.id)!.delivery.failingSince, null)
  t.match(flakyRow.delivery.breaker, /^(closed|open|half_open)$/)

  const failed = (await page(bad.id, '?status=failed')).data[0]!
  const detail = (await call('GET', `/v1/deliveries/${failed.id}`)).json as {
    url: string
    attemptLog: { attempt: number; statusCode: number; error: string; responseExcerpt: string }[]
  }
  t.equal(detail.url, flaky.url())
  t.same(
    detail.attemptLog.map((a) => [a.attempt, a.statusCode]),
    [
      [1, 500],
      [2, 500],
      [3, 500],
    ],
    'every attempt of the schedule, with its status',
  )
  t.equal(detail.attemptLog[0]!.responseExcerpt, 'down for maintenance', 'the response excerpt')
  t.ok(
    detail.attemptLog.every((a) => a.error !== null),
    'each failure has its error class',
  )

  // Retry a failed delivery once the receiver is back: it succeeds.
  failing = false
  const retried = await call('POST', `/v1/deliveries/${failed.id}/retry`)
  t.equal(retried.status, 200)
  t.equal((retried.json as Delivery).status, 'pending', 'due again')
  await until('the retry succeeded', async () => {
    const d = (await call('GET', `/v1/deliveries/${failed.id}`)).json as Delivery
    return d.status === 'succeeded'
  })
  const after = (await call('GET', `/v1/deliveries/${failed.id}`)).json as {
    attempts: number
    attemptLog: { statusCode: number }[]
  }
  t.equal(after.attempts, 4, 'one more attempt than the schedule')
  t.equal(after.attemptLog.at(-1)!.statusCode, 200)

  const again = await call('POST', `/v1/deliveries/${failed.id}/retry`)
  t.equal(again.status, 409, 'a succeeded delivery is not retried')
  t.match(again.json, { status: 'error', error: 'delivery_not_retryable' })
  t.equal((await call('POST', '/v1/deliveries/999999999/retry')).status, 404)
  t.equal((await call('GET', '/v1/deliveries/abc')).status, 404)
  t.equal((await call('GET', '/v1/deliveries/999999999')).status, 404)
  t.equal(
    (await call('GET', '/v1/subscriptions/00000000-0000-4000-8000-000000000000/deliveries')).status,
    404,
    'an unknown subscription has no deliveries page',
  )

  // Replay: a dry run counts, a real one makes a new generation that is delivered.
  const dry = await call('POST', '/v1/replay', {
    body: { type: 'order.paid', subscriptionId: ok.id, dryRun: true },
  })
  t.same(dry.json, { count: 2, dryRun: true }, 'two order.paid events for that subscription')
  const everything = await call('POST', '/v1/replay', { body: { all: true, dryRun: true } })
  t.same(everything.json, { count: 4, dryRun: true }, '"all": true counts every stored event')
  const allTyped = await call('POST', '/v1/replay', {
    body: { all: true, type: 'order.paid', subscriptionId: ok.id, dryRun: true },
  })
  t.same(allTyped.json, { count: 2, dryRun: true }, 'beside filters, "all" changes nothing')
  t.equal((await page(ok.id)).data.length, 3, 'a dry run makes nothing')
  const before = healthy.received.length
  const real = await call('POST', '/v1/replay', { body: { source: 'default' } })
  t.same(real.json, { count: 4, dryRun: false }, 'every event to every matching subscription')
  await until(
    'the replay reached the healthy subscriber',
    () => healthy.received.length >= before + 3,
  )
  const replayed = (await page(ok.id)).data.filter((d) => d.generation === 1)
  t.equal(replayed.length, 3, 'the replay is generation 1')
  t.same(
    new Set(healthy.received.slice(before).map((r) => r.headers['webhook-id'])),
    new Set(healthy.received.slice(0, 3).map((r) => r.headers['webhook-id'])),
    'a replay keeps the webhook-id, so receivers can tell it is the same event',
  )

  const event = (await call('GET', '/v1/events/default/d-2')).json as { deliveries: Delivery[] }
  t.same(
    event.deliveries.map((d) => [d.subscriptionId, d.generation]).sort(),
    [
      [bad.id, 0],
      [bad.id, 1],
      [ok.id, 0],
      [ok.id, 1],
    ].sort(),
    "an event's detail lists every delivery made of it",
  )
})

t.test('bad input to the delivery routes is a 400 naming the field', async (t) => {
  const { call } = await startAdminEngine(t, { SLUICE_ADMIN_TOKEN: TOKEN })
  const sub = (
    await call('POST', '/v1/subscriptions', { body: { url: 'https://example.com/hook' } })
  ).json as { id: string }
  const cases: [string, string, object | undefined, RegExp][] = [
    ['GET', `/v1/subscriptions/${sub.id}/deliveries?status=done`, undefined, /^status: /],
    ['GET', `/v1/subscriptions/${sub.id}/deliveries?cursor=%%%`, undefined, /^cursor: /],
    ['GET', `/v1/subscriptions/${sub.id}/deliveries?limit=0`, undefined, /^limit: /],
    ['POST', '/v1/replay', { since: 'yesterday' }, /^since: /],
    ['POST', '/v1/replay', { since: '2026-02-01', until: '2026-01-01' }, /^since: must be before/],
    ['POST', '/v1/replay', { dryRun: 'yes' }, /^dryRun: /],
    ['POST', '/v1/replay', { subscriptionId: 'x' }, /^subscriptionId: /],
    ['POST', '/v1/replay', { everything: true }, /unknown field\(s\): everything/],
    ['POST', '/v1/deliveries/1/retry', { now: true }, /unknown field\(s\): now/],
  ]
  for (const [method, path, body, message] of cases) {
    const answer = await call(method, path, body ? { body } : {})
    t.equal(answer.status, 400, `${method} ${path} ${JSON.stringify(body)}`)
    t.match(answer.json, { status: 'error', error: 'invalid_request', message })
  }
  t.equal(
    (await call('POST', '/v1/replay', { body: { dryRun: true }, token: null })).status,
    401,
    'replay needs the token',
  )
  // Replaying everything has to be said: an empty body once re-sent every stored event.
  for (const body of [{}, { dryRun: true }, { dryRun: false, all: false }]) {
    const answer = await call('POST', '/v1/replay', { body })
    t.equal(answer.status, 400, JSON.stringify(body))
    t.match(answer.json, {
      error: 'invalid_request',
      message:
        /^body: must name at least one of source, type, since, until, subscriptionId, or "all": true/,
    })
  }
  t.same((await call('POST', '/v1/replay', { body: { all: true } })).json, {
    count: 0,
    dryRun: false,
  })
})

t.test(
  "a 410 says why; a disabled or deleted subscription's delivery is not retried",
  async (t) => {
    const gone = await receiver((_r, res) => void res.writeHead(410).end())
    t.teardown(() => gone.close())
    const { call, webhook } = await startAdminEngine(t, {
      SLUICE_ADMIN_TOKEN: TOKEN,
      SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
      SLUICE_DELIVERY_TIMEOUT_MS: '10000',
    })
    const sub = (await call('POST', '/v1/subscriptions', { body: { url: gone.url() } })).json as {
      id: string
    }
    t.equal((await post(webhook, '{"type":"x"}', { 'idempotency-key': 'gone-1' })).status, 200)
    const subscription = async () =>
      (await call('GET', `/v1/subscriptions/${sub.id}`)).json as { status: string }
    await until('the 410 disabled it', async () => (await subscription()).status === 'disabled')
    const [delivery] = (
      (await call('GET', `/v1/subscriptions/${sub.id}/deliveries`)).json as Page<Delivery>
    ).data
    const detail = async () =>
      (await call('GET', `/v1/deliveries/${delivery!.id}`)).json as Delivery & {
        lastError: string | null
        attemptLog: { statusCode: number; error: string | null; message: string | null }[]
      }
    const failed = await detail()
    t.match(failed, { status: 'failed', attempts: 1, lastStatus: 410, lastError: 'gone' })
    t.same(
      failed.attemptLog.map((a) => [a.statusCode, a.error, a.message]),
      [[410, 'gone', '410 Gone: subscription disabled']],
      'the attempt says why it failed',
    )

    const refused = await call('POST', `/v1/deliveries/${delivery!.id}/retry`)
    t.equal(refused.status, 409, 'not a 200 after which the delivery would wait unseen')
    t.match(refused.json, {
      status: 'error',
      error: 'subscription_disabled',
      message: new RegExp(
        `subscription ${sub.id}, which is disabled: enable it first .*"status":"active".*` +
          `sluice subscriptions enable --id ${sub.id}`,
      ),
    })
    t.match(await detail(), { status: 'failed', attempts: 1 }, 'and nothing changed')

    // Enabled again, its failed delivery can be retried (the receiver is still gone: 410 again).
    await call('PATCH', `/v1/subscriptions/${sub.id}`, { body: { status: 'active' } })
    const retried = await call('POST', `/v1/deliveries/${delivery!.id}/retry`)
    t.equal(retried.status, 200)
    await until('attempted again', async () => (await detail()).attempts === 2, 30_000)
    await until('disabled again', async () => (await subscription()).status === 'disabled')

    // Deleted, its failed delivery stays failed (only pending ones are cancelled) and is refused.
    t.equal((await call('DELETE', `/v1/subscriptions/${sub.id}`)).status, 204)
    const deleted = await call('POST', `/v1/deliveries/${delivery!.id}/retry`)
    t.equal(deleted.status, 409)
    t.match(deleted.json, { error: 'delivery_not_retryable', message: /which was deleted/ })
    t.match(await detail(), { status: 'failed', attempts: 2 })
  },
)

t.test('a delivery being attempted shows inFlight and no due time', async (t) => {
  const held: ServerResponse[] = []
  const hanging = await receiver((_r, res) => void held.push(res))
  t.teardown(async () => {
    for (const res of held) res.destroy()
    await hanging.close()
  })
  const { call, webhook } = await startAdminEngine(t, {
    SLUICE_ADMIN_TOKEN: TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    SLUICE_DELIVERY_TIMEOUT_MS: '20000',
  })
  const sub = (await call('POST', '/v1/subscriptions', { body: { url: hanging.url() } })).json as {
    id: string
  }
  t.equal((await post(webhook, '{"type":"x"}', { 'idempotency-key': 'hang-1' })).status, 200)
  await until('the receiver holds the request', () => held.length === 1, 30_000)
  const page = (await call('GET', `/v1/subscriptions/${sub.id}/deliveries`)).json as Page<Delivery>
  t.match(page.data, [{ status: 'pending', inFlight: true, nextAttemptAt: null, attempts: 0 }])
  const detail = (await call('GET', `/v1/deliveries/${page.data[0]!.id}`)).json as Delivery
  t.equal(detail.inFlight, true)
  t.equal(
    (await call('POST', `/v1/deliveries/${detail.id}/retry`)).status,
    200,
    'retry is accepted',
  )
  const after = (await call('GET', `/v1/deliveries/${detail.id}`)).json as Delivery
  t.equal(after.inFlight, true, 'and left to the attempt under way')
})

t.test('a pending delivery never claimed is not in flight (false, not null)', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const { call, webhook, pool } = await startAdminEngine(t, {
    SLUICE_ADMIN_TOKEN: TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
  })
  t.equal((await call('POST', '/v1/subscriptions', { body: { url: rx.url() } })).status, 201)
  t.equal((await post(webhook, '{"type":"x"}', { 'idempotency-key': 'unclaimed-1' })).status, 200)
  await until('delivered', () => rx.received.length === 1, 30_000)
  // Its result is written after the receiver's answer, in a later batch: rewritten before that,
  // the row would still hold the dispatcher's lease and the result would land on it.
  await until('its result recorded', async () => {
    const { rows } = await pool.query<{ status: string }>(
      `SELECT status FROM deliveries WHERE event_id = 'unclaimed-1'`,
    )
    return rows[0]?.status === 'succeeded'
  })
  // As a delivery is between its fan-out and its first claim: pending, no lease, not yet due.
  await pool.query(
    `UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL,
       completed_at = NULL, next_attempt_at = now() + interval '1 hour'
     WHERE event_id = 'unclaimed-1'`,
  )
  const event = (await call('GET', '/v1/events/default/unclaimed-1')).json as {
    deliveries: Delivery[]
  }
  t.match(event.deliveries, [{ status: 'pending', inFlight: false }])
  t.equal(event.deliveries[0]?.inFlight, false, 'a boolean, as the schema says')
})

failOnLeaks(t)
