import t, { type Test } from 'tap'
import { Webhook } from 'standardwebhooks'
import { patchSubscription, rotateSecret } from '../src/db/subscriptions.js'
import { generateSecret } from '../src/outbound/sign.js'
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
  db = await dispatchDb('sluice_dispatch_subs')
})

const dispatcher = (t: Test, extra: Partial<DispatcherOptions> = {}) => testDispatcher(t, db, extra)
const event = (id: string, type: string) => ({ id, body: Buffer.from(JSON.stringify({ type })) })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('a subscription change is in effect within a second, by the poll alone', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const sub = await db.subscribe({
    url: rx.url('/v1'),
    eventTypes: ['cache'],
    headers: { 'X-V': '1' },
  })
  // No LISTEN: only the poll can tell this dispatcher about the change.
  await dispatcher(t, { listen: null }).start()
  await db.store([event('c1', 'cache')])
  await until('first delivered', () => rx.received.length === 1, 20_000)
  await patchSubscription(db.pool, db.box, sub.id, { url: rx.url('/v2'), headers: { 'X-V': '2' } })
  await sleep(1000) // the contract's bound
  await db.store([event('c2', 'cache')])
  await until('second delivered', () => rx.received.length === 2, 20_000)
  t.match(rx.received[1], { url: '/v2', headers: { 'x-v': '2' } }, 'the new URL and headers')
})

t.test(
  'during a rotation both secrets sign; after the grace period only the new one',
  async (t) => {
    const rx = await receiver()
    t.teardown(() => rx.close())
    const sub = await db.subscribe({ url: rx.url(), eventTypes: ['rotate'] })
    await dispatcher(t).start()
    const fresh = generateSecret()
    await rotateSecret(db.pool, db.box, sub.id, fresh, 3600)
    await sleep(1000)
    await db.store([event('k1', 'rotate')])
    await until('delivered', () => rx.received.length === 1, 20_000)
    const one = rx.received[0]!
    const headers = one.headers as Record<string, string>
    t.equal(headers['webhook-signature']!.split(' ').length, 2, 'two signatures')
    t.ok(new Webhook(sub.secret).verify(one.body.toString(), headers), 'the old secret verifies')
    t.ok(new Webhook(fresh).verify(one.body.toString(), headers), 'the new one too')
    await db.pool.query(
      `UPDATE subscriptions SET previous_secret_until = now() - interval '1 second', updated_at = now()
     WHERE id = $1`,
      [sub.id],
    )
    await sleep(1000)
    await db.store([event('k2', 'rotate')])
    await until('delivered', () => rx.received.length === 2, 20_000)
    const two = rx.received[1]!
    const after = two.headers as Record<string, string>
    t.equal(after['webhook-signature']!.split(' ').length, 1, 'one signature')
    t.throws(() => new Webhook(sub.secret).verify(two.body.toString(), after), 'not the old one')
    t.ok(new Webhook(fresh).verify(two.body.toString(), after))
  },
)

t.test('failing with no success for SLUICE_DISABLE_AFTER_HOURS disables it', async (t) => {
  const rx = await receiver((_r, res) => {
    res.statusCode = 500
    res.end()
  })
  const ok = await receiver()
  t.teardown(() => Promise.all([rx.close(), ok.close()]))
  const old = await db.subscribe({ url: rx.url('/old'), eventTypes: ['fail'] })
  const recent = await db.subscribe({ url: rx.url('/recent'), eventTypes: ['fail'] })
  const healed = await db.subscribe({ url: ok.url(), eventTypes: ['fail'] })
  await db.pool.query(
    `UPDATE subscriptions SET failing_since = now() - interval '121 hours' WHERE id = ANY ($1)`,
    [[old.id, healed.id]],
  )
  await dispatcher(t, { disableAfterHours: 120 }).start()
  await db.store([event('f1', 'fail')])
  const row = async (id: string) =>
    (
      await db.pool.query<{ status: string; failing: boolean; reason: string | null }>(
        `SELECT status, failing_since IS NOT NULL AS failing, disabled_reason AS reason,
           last_success_at IS NOT NULL AS succeeded FROM subscriptions WHERE id = $1`,
        [id],
      )
    ).rows[0]!
  await until('the old failure disabled it', async () => (await row(old.id)).status === 'disabled')
  t.match(await row(old.id), { reason: /failed for 120 hours/ })
  await until('the recent failure is noted', async () => (await row(recent.id)).failing)
  t.match(await row(recent.id), { status: 'active' }, 'failing for minutes only: still active')
  await until('the success is noted', async () => !(await row(healed.id)).failing)
  t.match(await row(healed.id), { status: 'active', succeeded: true }, 'a success clears it')
})

failOnLeaks(t, { closeFirst: () => db.drop() })
