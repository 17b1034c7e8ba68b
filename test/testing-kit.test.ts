import t from 'tap'
import { signature } from '../src/outbound/sign.js'
import {
  faultProxy,
  post,
  signedReceiver,
  startEngine,
  waitForDelivered,
  waitForStored,
  webhookIdOf,
  type TestEngine,
} from 'sluice/testing'
import { failOnLeaks } from './helpers/leaks.js'
import { freshDatabase } from './helpers/pg.js'

// The kit as a user's test uses it, imported by its package name: an engine child on a fresh
// database, a signed receiver, the waits, kill -9 and restart.
t.test(
  'an engine from the kit stores, delivers signed, and starts again after kill -9',
  async (t) => {
    const db = await freshDatabase('sluice_kit')
    const receiver = await signedReceiver()
    // One teardown, in order: the engine (if it started) before the database it uses.
    const started: { engine?: TestEngine } = {}
    t.teardown(async () => {
      await started.engine?.close()
      await receiver.close()
      await db.drop()
    })
    const engine = await startEngine({ databaseUrl: db.url, env: { SLUICE_WORKERS: '1' } })
    started.engine = engine
    const sub = await engine.client.putSubscription({ url: receiver.url, secret: receiver.secret })
    t.equal(sub.url, receiver.url, 'the subscription points at the receiver')

    const first = await engine.post({ type: 'kit.first' }, { 'idempotency-key': 'kit-1' })
    t.equal(first.status, 200, 'the post is acknowledged')
    const stored = await waitForStored(engine, 'kit-1')
    t.match(
      stored,
      { source: 'default', id: 'kit-1', type: 'kit.first' },
      'waitForStored gives the row',
    )
    const delivered = await waitForDelivered(engine, 'kit-1')
    t.equal(delivered.deliveries[0]?.status, 'succeeded', 'waitForDelivered waits for success')
    const got = await receiver.waitFor('kit-1')
    t.equal(got.webhookId, webhookIdOf('kit-1'), 'the delivery is found by its event id')
    t.same(JSON.parse(got.body.toString()), { type: 'kit.first' }, 'with the event as its body')
    t.equal(receiver.rejected.length, 0, 'every delivery verified')

    t.equal(await engine.kill9(), 'SIGKILL', 'kill9() kills the engine with SIGKILL')
    await t.rejects(engine.post({ type: 'kit.down' }), 'nothing listens while it is down')
    await engine.restart()
    const again = await engine.post({ type: 'kit.second' }, { 'idempotency-key': 'kit-2' })
    t.equal(again.status, 200, 'restart() brings it back on the same data, on new ports')
    await waitForStored(engine, 'kit-2')
    t.ok(await receiver.waitFor('kit-2'), 'and it delivers again')
    t.equal(await engine.stop(), 0, 'a graceful stop exits 0')
  },
)

t.test('the signed receiver refuses what the engine would not have signed so', async (t) => {
  const receiver = await signedReceiver()
  t.teardown(() => receiver.close())
  const body = Buffer.from('{"type":"forged"}')
  const now = Math.floor(Date.now() / 1000)
  const headers = (secret: string) => ({
    'webhook-id': 'msg_forged',
    'webhook-timestamp': String(now),
    'webhook-signature': signature('msg_forged', now, body, secret),
  })
  const other = await signedReceiver()
  t.teardown(() => other.close())
  t.equal(
    (await post(receiver.url, body, headers(other.secret))).status,
    401,
    'another secret: 401',
  )
  t.equal((await post(receiver.url, body, {})).status, 401, 'no signature: 401')
  t.equal((await post(receiver.url, body, headers(receiver.secret))).status, 200, 'its own: 200')
  t.equal(receiver.rejected.length, 2, 'both refusals are recorded')
  t.match(receiver.rejected[0]?.reason, /signature/, 'with the reason')
  t.equal(receiver.deliveries.length, 1, 'the signed one is recorded')
})

t.test('the kit reports what it waited for when it times out', async (t) => {
  const receiver = await signedReceiver()
  t.teardown(() => receiver.close())
  await t.rejects(receiver.waitFor('never', { timeoutMs: 200 }), {
    message: /waiting until a signed delivery of event default\/never arrives/,
  })
  await t.rejects(faultProxy({ target: { port: 0 } }), TypeError, 'a target needs a port')
})

failOnLeaks(t)
