import t, { type Test } from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { Webhook } from 'standardwebhooks'
import { loadConfig } from '../src/config.js'
import { Engine } from '../src/engine.js'
import { webhookId } from '../src/dispatcher/request.js'
import { receiver } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freshDatabase } from './helpers/pg.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'

const TOKEN = 'delivery-engine-token-0123456789'

/** An engine on `databaseUrl` (unset: embedded PGlite) that may deliver to loopback. */
async function engine(t: Test, databaseUrl?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-delivery-'))
  const e = new Engine(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_ADMIN_PORT: '0',
      SLUICE_ADMIN_TOKEN: TOKEN,
      SLUICE_DATA_DIR: dir,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      SLUICE_WORKERS: '1',
      SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
      SLUICE_DELIVERY_SCHEDULE: '1,1,1',
      SLUICE_DELIVERY_TIMEOUT_MS: '10000',
    }),
    { logger: pino({ level: process.env.DEBUG_LOG ? 'debug' : 'silent' }) },
  )
  t.teardown(async () => {
    await e.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await e.start()
  await e.pipeline.ready()
  const subscribe = async (body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${e.adminPort}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (res.status !== 201) throw new Error(`subscription refused: ${await res.text()}`)
    // The first subscription starts the dispatcher thread: on a loaded machine its start (and
    // PGlite's first answer to it) can take longer than a delivery's wait below.
    await until('the dispatcher runs', async () => {
      const ready = await fetch(`http://127.0.0.1:${e.port}/readyz`)
      const body = (await ready.json()) as {
        checks: { dispatcher?: { ok: boolean; state: string } }
      }
      return body.checks.dispatcher?.state === 'up'
    })
    return (await res.json()) as { id: string; secret: string }
  }
  return { engine: e, subscribe, port: e.port, webhook: `http://127.0.0.1:${e.port}/webhook` }
}

const threadNames = () =>
  readdirSync('/proc/self/task').map((tid) =>
    readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(),
  )

t.test('an event posted to the webhook port reaches its subscriber, signed', async (t) => {
  const db = await freshDatabase('sluice_delivery')
  t.teardown(() => db.drop())
  const rx = await receiver()
  t.teardown(() => rx.close())
  const { engine: e, subscribe, webhook } = await engine(t, db.url)
  const sub = await subscribe({ url: rx.url(), headers: { 'X-Tenant': 'acme' } })
  const body = '{"type":"order.paid",  "amount": 4200, "note":"caf\u00e9"}'
  const answer = await post(webhook, body, { 'idempotency-key': 'e2e-1' })
  t.equal(answer.status, 200)
  await until('the subscriber got it', () => rx.received.length >= 1, 30_000)
  const got = rx.received[0]!
  t.equal(got.body.toString(), body, 'the exact bytes as posted')
  t.equal(got.headers['content-type'], 'application/json')
  t.equal(got.headers['x-tenant'], 'acme', 'the subscription header')
  t.equal(got.headers['webhook-id'], webhookId('default', 'e2e-1'), 'webhook-id from (source, id)')
  const verified = new Webhook(sub.secret).verify(got.body.toString(), got.headers as never)
  t.same(verified, JSON.parse(body), 'verified by the standardwebhooks library')
  t.ok(threadNames().includes('sluice-dispatch'), 'the dispatcher runs in its own named thread')
  // The dispatcher thread's registry reaches /metrics through the pipeline thread.
  await until('/metrics counts the delivery', async () => {
    const text = await (await fetch(`http://127.0.0.1:${e.port}/metrics`)).text()
    return /^sluice_deliveries_total\{outcome="succeeded"\} 1$/m.test(text)
  })
  const text = await (await fetch(`http://127.0.0.1:${e.port}/metrics`)).text()
  t.match(text, /^sluice_delivery_attempt_duration_seconds_count\{result="success"\} 1$/m)
  // The backlog gauges are counted every few seconds: it was due when first counted.
  await until('the due gauge comes back to 0', async () =>
    /^sluice_deliveries_due 0$/m.test(
      await (await fetch(`http://127.0.0.1:${e.port}/metrics`)).text(),
    ),
  )
})

t.test('with the embedded database too (no LISTEN there: woken in-process)', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const { subscribe, webhook } = await engine(t)
  // subscribe() waits for the dispatcher to run: the wake under test is the one a stored event
  // sends a running dispatcher.
  const sub = await subscribe({ url: rx.url() })
  const body = '{"type":"embedded"}'
  t.equal((await post(webhook, body, { 'idempotency-key': 'emb-1' })).status, 200)
  await until('the subscriber got it', () => rx.received.length >= 1, 30_000)
  const got = rx.received[0]!
  t.equal(got.body.toString(), body)
  t.ok(new Webhook(sub.secret).verify(got.body.toString(), got.headers as never))
})

failOnLeaks(t)
