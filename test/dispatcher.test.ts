import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { webhookId } from '../src/dispatcher/request.js'
import { registry } from '../src/metrics.js'
import { PUBLIC_ONLY } from '../src/outbound/ssrf.js'
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
// One database for the file; the leak check closes it before it counts.
t.before(async () => {
  db = await dispatchDb('sluice_dispatch')
})

// A long poll: these tests must be woken by NOTIFY or by the due time.
const dispatcher = (t: Test, extra: Partial<DispatcherOptions> = {}) =>
  testDispatcher(t, db, { pollMs: 60_000, ...extra })

const status = async (eventId: string) =>
  (
    await db.pool.query<{ status: string; attempts: number }>(
      'SELECT status, attempts FROM deliveries WHERE event_id = $1',
      [eventId],
    )
  ).rows[0]

t.test('delivered signed, with the exact body and the subscription headers', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const sub = await db.subscribe({
    url: rx.url(),
    eventTypes: ['signed.*'],
    headers: { 'X-Team': 'shop', Authorization: 'Bearer abc' },
  })
  const d = dispatcher(t)
  await d.start()
  // Not valid JSON on purpose, with a byte that is not UTF-8: only exact bytes verify.
  const body = Buffer.concat([Buffer.from('{"type":"signed.one", "n": 1 '), Buffer.from([0xff])])
  await db.store([{ id: 's1', body, contentType: 'application/x-odd', headers: { 'x-type': 'a' } }])
  // Typed through the JSON body: this one matches the subscription, the first does not.
  await db.store([{ id: 's2', body: Buffer.from('{"type":"signed.two","a":[1,2]}') }])
  await until('the receiver got the event', () => rx.received.length >= 1, 20_000)
  await until('the delivery is recorded', async () => (await status('s2'))?.status === 'succeeded')
  t.equal(rx.received.length, 1, 'only the matching event was delivered')
  const got = rx.received[0]!
  t.equal(got.body.toString(), '{"type":"signed.two","a":[1,2]}', 'the exact body')
  t.equal(got.headers['content-type'], 'application/json')
  t.equal(got.headers['x-team'], 'shop', 'custom header')
  t.equal(got.headers.authorization, 'Bearer abc', 'custom header')
  t.equal(got.headers['webhook-id'], webhookId('default', 's2'))
  const wh = new Webhook(sub.secret)
  t.same(wh.verify(got.body.toString(), got.headers as Record<string, string>), {
    type: 'signed.two',
    a: [1, 2],
  })
  const log = await db.pool.query(
    `SELECT a.attempt, a.status_code, a.error, a.response_excerpt, a.owner
     FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = 's2'`,
  )
  t.match(log.rows, [
    { attempt: 1, status_code: 200, error: null, response_excerpt: 'ok', owner: d.owner },
  ])
  t.equal(await status('s1'), undefined, 'no delivery for the unmatched type')
})

t.test(
  'exact bytes that are not UTF-8 verify; payload keys are added to a JSON object',
  async (t) => {
    const rx = await receiver()
    t.teardown(() => rx.close())
    const raw = await db.subscribe({ url: rx.url('/raw'), eventTypes: ['bytes'] })
    const merged = await db.subscribe({
      url: rx.url('/merged'),
      eventTypes: ['bytes', 'object'],
      payload: { tenant: 't1', n: 9 },
    })
    const d = dispatcher(t)
    await d.start()
    const odd = Buffer.concat([Buffer.from([0xfe, 0x00, 0x41]), Buffer.from('\r\n')])
    await db.store([
      {
        id: 'b1',
        body: odd,
        contentType: 'application/octet-stream',
        headers: { 'x-event-type': 'bytes' },
      },
    ])
    await db.store([{ id: 'o1', body: Buffer.from('{"type":"object","n":1,"keep":true}') }])
    await until('three requests arrived', () => rx.received.length >= 3, 20_000)
    const at = (path: string, id: string) =>
      rx.received.find(
        (r) => r.url === path && r.headers['webhook-id'] === webhookId('default', id),
      )
    const rawOne = at('/raw', 'b1')!
    t.same([...rawOne.body], [...odd], 'the bytes as received')
    // standardwebhooks verifies strings only (UTF-8): the HMAC is computed here from the bytes.
    const h = rawOne.headers as Record<string, string>
    const mac = createHmac('sha256', Buffer.from(raw.secret.slice('whsec_'.length), 'base64'))
    mac.update(`${h['webhook-id']}.${h['webhook-timestamp']}.`).update(odd)
    t.equal(h['webhook-signature'], `v1,${mac.digest('base64')}`, 'signed over the exact bytes')
    t.same(
      [...at('/merged', 'b1')!.body],
      [...odd],
      'not JSON: payload not applied, bytes as received',
    )
    const obj = at('/merged', 'o1')!
    t.same(JSON.parse(obj.body.toString()), { type: 'object', n: 9, keep: true, tenant: 't1' })
    t.ok(
      new Webhook(merged.secret).verify(obj.body.toString(), obj.headers as Record<string, string>),
    )
  },
)

t.test(
  'a refused destination is an attempt failed with ssrf_refused, nothing connects',
  async (t) => {
    const rx = await receiver()
    t.teardown(() => rx.close())
    await db.subscribe({ url: rx.url(), eventTypes: ['ssrf'] })
    const refusals = async () =>
      (await registry.getSingleMetric('sluice_delivery_ssrf_refusals_total')?.get())?.values[0]
        ?.value ?? 0
    const before = await refusals()
    await dispatcher(t, { policy: PUBLIC_ONLY }).start()
    await db.store([{ id: 'x1', body: Buffer.from('{"type":"ssrf"}') }])
    await until('attempted', async () => (await status('x1'))?.attempts === 1)
    const log = await db.pool.query(
      `SELECT a.error, a.message FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
     WHERE d.event_id = 'x1'`,
    )
    t.match(log.rows, [{ error: 'ssrf_refused', message: /loopback.*SLUICE_OUTBOUND_ALLOW/ }])
    t.equal(rx.accepted(), 0, 'no connection reached the receiver')
    t.equal((await refusals()) - before, 1, 'counted in sluice_delivery_ssrf_refusals_total')
  },
)

failOnLeaks(t, { closeFirst: () => db.drop() })
