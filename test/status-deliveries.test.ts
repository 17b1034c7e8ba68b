import t from 'tap'
import type { Status } from '../src/api/types.js'
import { startAdminEngine } from './helpers/admin-engine.js'
import { receiver } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { post } from './helpers/post.js'
import { collect, spawnSluice } from './helpers/spawn.js'
import { pauseWhenSettled } from './helpers/pg.js'
import { until } from './helpers/wait.js'

const TOKEN = 'status-deliveries-token-0123456789'

/**
 * Outbound delivery as the operator's tools report it, against a real engine and real
 * receivers: GET /v1/status `deliveries`, the gauges on /metrics and `sluice status`'s line. A
 * receiver answering 500 makes a failing subscription, one is paused the way flow control
 * pauses (paused_at), one is disabled by the operator.
 */
t.test('deliveries in /v1/status, /metrics and sluice status', async (t) => {
  const healthy = await receiver()
  const quiet = await receiver()
  const failing = await receiver((_r, res) => void res.writeHead(500).end('down'))
  t.teardown(() => Promise.all([healthy.close(), quiet.close(), failing.close()]))
  const { call, webhook, pool, dir, engine } = await startAdminEngine(t, {
    SLUICE_ADMIN_TOKEN: TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    // One attempt within the test: the failed ones stay pending, waiting for their retry.
    SLUICE_DELIVERY_SCHEDULE: '600',
    SLUICE_DELIVERY_TIMEOUT_MS: '10000',
  })
  const status = async () => (await call('GET', '/v1/status')).json as Status
  const metrics = async () => (await fetch(webhook.replace(/\/webhook$/, '/metrics'))).text()
  const env = {
    SLUICE_DATA_DIR: dir,
    SLUICE_ADMIN_PORT: String(engine.adminPort),
    SLUICE_ADMIN_TOKEN: TOKEN,
  }
  const sluice = (...args: string[]) => collect(spawnSluice(args, env))

  await until('the first count', async () => (await status()).deliveries.pending !== null)
  t.match((await status()).deliveries, {
    pending: 0,
    oldestPendingSeconds: 0,
    failingSubscriptions: 0,
    pausedSubscriptions: 0,
    disabledSubscriptions: 0,
  })
  const calm = await sluice('status')
  t.match(calm.stdout, /^ {2}ok {3}deliveries pending 0, oldest 0 s; /m, 'nothing to warn of')

  const subscribe = async (url: string) =>
    ((await call('POST', '/v1/subscriptions', { body: { url } })).json as { id: string }).id
  await subscribe(healthy.url())
  const paused = await subscribe(quiet.url())
  const bad = await subscribe(failing.url())
  const off = await subscribe(healthy.url('/off'))
  t.equal(
    (await call('PATCH', `/v1/subscriptions/${off}`, { body: { status: 'disabled' } })).status,
    200,
  )
  for (const i of [1, 2]) {
    const res = await post(webhook, JSON.stringify({ type: 'order.paid', i }), {
      'idempotency-key': `sd-${i}`,
    })
    t.equal(res.status, 200)
  }
  await until('both delivered to the healthy ones', () => {
    return healthy.received.length === 2 && quiet.received.length === 2
  })
  await until('both attempted at the failing one', () => failing.received.length === 2)
  // Flow control's pause, set as it sets it; and one delivery made an hour ago.
  await pauseWhenSettled(pool, paused)
  await pool.query(
    `UPDATE deliveries SET created_at = now() - interval '1 hour'
     WHERE id = (SELECT min(id) FROM deliveries WHERE subscription_id = $1)`,
    [bad],
  )

  // The rates come from the once-a-second samples of the totals, which trail the counts (by
  // more than a second when the machine is loaded), so they are waited for too.
  await until(
    'the count sees the failing and the paused one, and the rates the attempts',
    async () => {
      const d = (await status()).deliveries
      return (
        d.failingSubscriptions === 1 &&
        d.pausedSubscriptions === 1 &&
        d.pending === 2 &&
        d.deliveredPerSecond > 0 &&
        d.failedPerSecond > 0
      )
    },
  )
  const s = await status()
  t.match(s.deliveries, {
    pending: 2,
    failingSubscriptions: 1,
    pausedSubscriptions: 1,
    disabledSubscriptions: 1,
  })
  t.ok(s.deliveries.oldestPendingSeconds! >= 3600, 'the oldest pending is the hour-old one')
  t.ok(s.deliveries.oldestPendingSeconds! < 7200, 'counted from when it was created')
  t.ok(s.deliveries.deliveredPerSecond > 0, 'deliveries made in the last minute')
  t.ok(s.deliveries.failedPerSecond > 0, 'failed attempts in the last minute')
  t.equal(s.totals.failedAttempts, 2, 'two failed attempts since start')
  t.equal(s.totals.delivered, 4)

  const text = await metrics()
  for (const [state, n] of [
    ['active', 1],
    ['failing', 1],
    ['paused', 1],
    ['disabled', 1],
  ] as const) {
    t.match(text, new RegExp(`^sluice_subscriptions\\{state="${state}"\\} ${n}$`, 'm'), state)
  }
  t.match(text, /^sluice_deliveries_pending 2$/m)
  t.match(text, /^sluice_deliveries_oldest_pending_age_seconds (\d+)$/m)
  t.match(
    text,
    /^sluice_subscriptions_disabled_total\{reason="gone"\} 0$/m,
    'the counter alerts use exists before the first disabling',
  )

  const human = await sluice('status')
  t.equal(human.code, 0, 'still ready: exit 0')
  t.match(
    human.stdout,
    /^ {2}WARN deliveries pending 2, oldest \d+ s; delivered [\d.]+\/s, failed attempts [\d.]+\/s; subscriptions failing 1, paused 1$/m,
  )
  t.match(human.stdout, /hint: sluice subscriptions list/)
  t.match(human.stdout, /dead letters 0 \(events that could not be stored/)
  t.match(human.stdout, /dead-lettered 0 /, 'the rate of dead letters is named so')
})

failOnLeaks(t)
