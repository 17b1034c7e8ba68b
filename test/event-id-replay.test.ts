import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import Stripe from 'stripe'
import { Webhook } from 'standardwebhooks'
import { sign as githubSign } from '@octokit/webhooks-methods'
import { loadConfig } from '../src/config.js'
import { migrate } from '../src/db/migrate.js'
import { buildSources } from '../src/sources/index.js'
import { storeBatch } from '../workers/insert.js'
import { startServer } from './helpers/http-server.js'
import { freshDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * A captured signed request replayed within the timestamp tolerance with a new Idempotency-Key
 * (or any other unsigned id header) is the same event: the id the signature covers wins
 * (docs/sources.md, "Event id and type"), so the replay lands on the same (source, id) and is one row.
 */
const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const SECRETS = {
  stripe: 'whsec_stripe_replay_test',
  acme: 'whsec_' + Buffer.from('standard webhooks replay key').toString('base64'),
  github: 'github-replay-secret',
}
const SLUICE_CONFIG = join(dir, 'sources.json')
writeFileSync(
  SLUICE_CONFIG,
  JSON.stringify({
    sources: {
      stripe: { verify: { type: 'stripe', secret: SECRETS.stripe } },
      acme: { verify: { type: 'standard-webhooks', secret: SECRETS.acme } },
      github: { verify: { type: 'github', secret: SECRETS.github } },
    },
  }),
)

async function post(url: string, body: string, headers: Record<string, string>) {
  const r = await fetch(url, { method: 'POST', body, headers })
  const { id } = (await r.json()) as { id?: string }
  return { status: r.status, id }
}

t.test('replays of signed requests with new id headers: same id, one row', async (t) => {
  const { url, journal } = await startServer(t, {
    sources: buildSources(loadConfig({ SLUICE_CONFIG }).sources),
  })
  const acmeBody = '{"type":"user.created","data":{"id":"u_1"}}'
  const at = new Date()
  const acme = {
    'content-type': 'application/json',
    'webhook-id': 'msg_replayed',
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(SECRETS.acme).sign('msg_replayed', at, acmeBody),
  }
  const stripeBody = JSON.stringify({ id: 'evt_replayed', object: 'event', type: 'charge.paid' })
  const stripe = {
    'content-type': 'application/json',
    'stripe-signature': new Stripe('sk_test_unused').webhooks.generateTestHeaderString({
      payload: stripeBody,
      secret: SECRETS.stripe,
    }),
  }
  const replays: Array<[string, string, Record<string, string>, string]> = [
    ['acme', acmeBody, acme, 'msg_replayed'],
    ['acme', acmeBody, { ...acme, 'idempotency-key': 'attacker-1' }, 'msg_replayed'],
    ['acme', acmeBody, { ...acme, 'idempotency-key': 'attacker-2' }, 'msg_replayed'],
    ['stripe', stripeBody, stripe, 'evt_replayed'],
    ['stripe', stripeBody, { ...stripe, 'idempotency-key': 'attacker-3' }, 'evt_replayed'],
    ['stripe', stripeBody, { ...stripe, 'webhook-id': 'attacker-4' }, 'evt_replayed'],
  ]
  for (const [source, body, headers, id] of replays) {
    const r = await post(`${url}/webhook/${source}`, body, headers)
    t.same({ status: r.status, id: r.id }, { status: 200, id }, `${source}: the signed id`)
  }

  const entries = await journal.readPending(0, 100)
  t.equal(entries.length, replays.length, 'each request was journaled (deduplicated at the store)')
  const db = await freshDatabase('sluice_replay')
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  await storeBatch(pool, entries)
  const { rows } = await pool.query<{ source: string; id: string }>(
    'SELECT source, id FROM events ORDER BY source',
  )
  t.same(
    rows,
    [
      { source: 'acme', id: 'msg_replayed' },
      { source: 'stripe', id: 'evt_replayed' },
    ],
    'one row per signed event',
  )
})

t.test('a signed id with a lone surrogate is its UTF-8 form from the start', async (t) => {
  // JSON may escape a lone surrogate; UTF-8 (the journal's, Postgres') cannot hold one and
  // stores U+FFFD. Keeping it would make the event's key in memory differ from the stored one.
  const { url, journal } = await startServer(t, {
    sources: buildSources(loadConfig({ SLUICE_CONFIG }).sources),
  })
  const body = JSON.stringify({ id: 'evt_\ud800lone', object: 'event', type: 'charge.paid' })
  t.match(body, /\\ud800/, 'the escape is in the signed bytes')
  const stripe = {
    'content-type': 'application/json',
    'stripe-signature': new Stripe('sk_test_unused').webhooks.generateTestHeaderString({
      payload: body,
      secret: SECRETS.stripe,
    }),
  }
  const r = await post(`${url}/webhook/stripe`, body, stripe)
  t.same(r, { status: 200, id: 'evt_\ufffdlone' })
  const entries = await journal.readPending(0, 100)
  t.same(
    entries.map((e) => e.id),
    ['evt_\ufffdlone'],
  )
  const db = await freshDatabase('sluice_lone_id')
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  t.match(await storeBatch(pool, entries), [{ ok: true, inserted: true }], 'stored as new')
  t.match(await storeBatch(pool, entries), [{ ok: true, inserted: false }], 'then a duplicate')
})

t.test('GitHub signs only the body: the unsigned id headers keep their order', async (t) => {
  const { url } = await startServer(t, {
    sources: buildSources(loadConfig({ SLUICE_CONFIG }).sources),
  })
  const body = '{"action":"opened"}'
  const headers = {
    'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    'x-hub-signature-256': await githubSign(SECRETS.github, body),
  }
  const plain = await post(`${url}/webhook/github`, body, headers)
  t.equal(plain.id, headers['x-github-delivery'])
  const keyed = await post(`${url}/webhook/github`, body, { ...headers, 'idempotency-key': 'k-1' })
  t.equal(keyed.id, 'k-1', 'nothing signed names the delivery, so Idempotency-Key still leads')
})

failOnLeaks(t)
