import t, { type Test } from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import pg from 'pg'
import { loadConfig } from '../src/config.js'
import { upsertSubscription } from '../src/db/subscriptions.js'
import { Engine } from '../src/engine.js'
import { generateSecret } from '../src/outbound/sign.js'
import { SecretBox } from '../src/util/secret-box.js'
import { receiver } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freshDatabase, waitForStoredIds } from './helpers/pg.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'

const TOKEN = 'on-demand-token-0123456789abcdef'
// Nodes of one database share the key that seals subscription secrets.
const SECRET_KEY = randomBytes(32).toString('base64')

t.test('the default: on-demand on the embedded Postgres, eager with DATABASE_URL', async (t) => {
  t.equal(loadConfig({}).SLUICE_DISPATCHER_START, 'on-demand')
  const url = 'postgres://127.0.0.1/x'
  t.equal(loadConfig({ DATABASE_URL: url }).SLUICE_DISPATCHER_START, 'eager')
  t.equal(loadConfig({ SLUICE_DISPATCHER_START: 'eager' }).SLUICE_DISPATCHER_START, 'eager')
  t.equal(
    loadConfig({ DATABASE_URL: url, SLUICE_DISPATCHER_START: 'on-demand' }).SLUICE_DISPATCHER_START,
    'on-demand',
  )
  t.throws(() => loadConfig({ SLUICE_DISPATCHER_START: 'lazy' }), /SLUICE_DISPATCHER_START/)
})

interface DispatcherCheck {
  ok: boolean
  state: string
  detail?: string
}

/**
 * An engine (one node) on `databaseUrl` that may deliver to loopback, looking for subscriptions
 * made elsewhere every `idleCheckMs` (the default when undefined).
 */
async function node(t: Test, databaseUrl: string, idleCheckMs: number | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-on-demand-'))
  const e = new Engine(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_ADMIN_PORT: '0',
      SLUICE_ADMIN_TOKEN: TOKEN,
      SLUICE_DATA_DIR: dir,
      DATABASE_URL: databaseUrl,
      SLUICE_SECRET_KEY: SECRET_KEY,
      SLUICE_WORKERS: '1',
      SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
      SLUICE_DELIVERY_SCHEDULE: '1,1,1',
      SLUICE_DISPATCHER_START: 'on-demand',
    }),
    {
      logger: pino({ level: process.env.DEBUG_LOG ? 'debug' : 'silent' }),
      pipeline: { dispatcherIdleCheckMs: idleCheckMs },
    },
  )
  const close = async () => {
    await e.close()
    rmSync(dir, { recursive: true, force: true })
  }
  t.teardown(close)
  await e.start()
  await e.pipeline.ready()
  const dispatcher = async () => {
    const res = await fetch(`http://127.0.0.1:${e.port}/readyz`)
    return ((await res.json()) as { checks: { dispatcher: DispatcherCheck } }).checks.dispatcher
  }
  const subscribe = async (body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${e.adminPort}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    t.equal(res.status, 201, 'subscription made')
  }
  const deliveries = async () => {
    const res = await fetch(`http://127.0.0.1:${e.adminPort}/v1/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    return ((await res.json()) as { deliveries: Record<string, number | null> }).deliveries
  }
  const metrics = async () => (await fetch(`http://127.0.0.1:${e.port}/metrics`)).text()
  const webhook = `http://127.0.0.1:${e.port}/webhook`
  return { dispatcher, subscribe, close, deliveries, metrics, webhook }
}

// A thread's start is not what these tests time: under tap's TypeScript loader on a loaded
// machine it took 20-30 s (CI beside two CPU-bound processes), so its wait is long and a
// delivery's wait only starts once it runs.
const dispatcherUp = (n: { dispatcher: () => Promise<DispatcherCheck> }) =>
  until('the dispatcher is up', async () => (await n.dispatcher()).state === 'up', 300_000)

const dispatchThreads = () =>
  readdirSync('/proc/self/task').filter(
    (tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'sluice-dispatch',
  ).length

t.test('no dispatcher thread until the first subscription, then deliveries', async (t) => {
  const db = await freshDatabase('sluice_on_demand')
  t.teardown(() => db.drop())
  const rx = await receiver()
  t.teardown(() => rx.close())
  // It never looks for subscriptions made elsewhere: only its own admin API can start its thread.
  const a = await node(t, db.url, 600_000)
  const idle = await a.dispatcher()
  t.same(
    { ok: idle.ok, state: idle.state, detail: idle.detail },
    { ok: true, state: 'idle', detail: 'idle: no subscriptions' },
    '/readyz says why nothing runs, without failing',
  )
  t.equal(dispatchThreads(), 0, 'no dispatcher thread in the process')
  // Counted by the thread when it runs; known without it: no subscription, nothing pending.
  t.same(
    await a.deliveries(),
    {
      pending: 0,
      oldestPendingSeconds: 0,
      deliveredPerSecond: 0,
      failedPerSecond: 0,
      failingSubscriptions: 0,
      pausedSubscriptions: 0,
      disabledSubscriptions: 0,
    },
    '/v1/status: nothing pending, no subscription',
  )
  const text = await a.metrics()
  for (const series of [
    'sluice_subscriptions{state="active"} 0',
    'sluice_subscriptions{state="disabled"} 0',
    'sluice_deliveries_pending 0',
    'sluice_deliveries_oldest_pending_age_seconds 0',
    'sluice_deliveries_total{outcome="succeeded"} 0',
  ]) {
    t.ok(text.split('\n').includes(series), `/metrics has ${series} without a thread`)
  }
  // Stored without a subscription: nothing to deliver, and nothing starts.
  t.equal((await post(a.webhook, '{"type":"early"}', { 'idempotency-key': 'od-0' })).status, 200)
  await waitForStoredIds(t, db.url, 1)
  t.equal((await a.dispatcher()).state, 'idle', 'still idle after an event was stored')

  await a.subscribe({ url: rx.url('/a') })
  t.not((await a.dispatcher()).state, 'idle', 'the subscription started the thread at once')
  await dispatcherUp(a)
  t.equal(dispatchThreads(), 1, 'one dispatcher thread')
  t.equal((await post(a.webhook, '{"type":"late"}', { 'idempotency-key': 'od-1' })).status, 200)
  await until('the subscriber got it', () => rx.received.length >= 1, 30_000)
  t.equal(rx.received[0]!.body.toString(), '{"type":"late"}', 'only the event after it')
})

t.test('events stored while no thread ran are delivered when one starts', async (t) => {
  const db = await freshDatabase('sluice_on_demand')
  t.teardown(() => db.drop())
  const rx = await receiver()
  t.teardown(() => rx.close())
  // Node b looks for subscriptions rarely: the event below is stored while it has no thread.
  const b = await node(t, db.url, 600_000)
  const a = await node(t, db.url, 200)
  await a.subscribe({ url: rx.url('/x') })
  await a.close()
  t.equal((await post(b.webhook, '{"type":"via-b"}', { 'idempotency-key': 'od-b' })).status, 200)
  await waitForStoredIds(t, db.url, 1)
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  t.teardown(() => pool.end())
  const { rows } = await pool.query<{ status: string; attempts: number }>(
    'SELECT status, attempts FROM deliveries',
  )
  t.same(rows, [{ status: 'pending', attempts: 0 }], 'its delivery waits, never attempted')
  t.equal((await b.dispatcher()).state, 'idle', 'node b has no thread')
  // A node starting now runs its thread at once, and its first scan finds the delivery.
  const c = await node(t, db.url, 600_000)
  t.not((await c.dispatcher()).state, 'idle', 'node c sees the subscription at its start')
  await dispatcherUp(c)
  await until('the subscriber got it', () => rx.received.length >= 1, 30_000)
  t.equal(rx.received[0]!.body.toString(), '{"type":"via-b"}')
})

t.test('a subscription made in Postgres (another node, the CLI) starts the thread', async (t) => {
  const db = await freshDatabase('sluice_on_demand')
  t.teardown(() => db.drop())
  const rx = await receiver()
  t.teardown(() => rx.close())
  const a = await node(t, db.url, undefined)
  t.equal((await a.dispatcher()).state, 'idle', 'idle at its start')
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  t.teardown(() => pool.end())
  const box = new SecretBox(Buffer.from(SECRET_KEY, 'base64'))
  await upsertSubscription(pool, box, { url: rx.url('/elsewhere') }, generateSecret)
  await dispatcherUp(a)
  t.equal(dispatchThreads(), 1, 'its look found the subscription and started the thread')
  t.equal((await post(a.webhook, '{"type":"seen"}', { 'idempotency-key': 'od-pg' })).status, 200)
  await until('the subscriber got it', () => rx.received.length >= 1, 30_000)
  t.equal(rx.received[0]!.body.toString(), '{"type":"seen"}', 'delivered')
})

failOnLeaks(t)
