import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import http from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign as githubSign } from '@octokit/webhooks-methods'
import Stripe from 'stripe'
import { Webhook } from 'standardwebhooks'
import { loadConfig } from '../src/config.js'
import { buildSources } from '../src/sources/index.js'
import { startServer } from './helpers/http-server.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * End to end through HTTP: a SLUICE_CONFIG file -> loadConfig -> buildSources -> the real
 * uWebSockets.js server -> the SQLite journal. Signed requests are stored under the sender's id
 * with the exact bytes; anything else is refused and not stored.
 */
const dir = mkdtempSync(join(tmpdir(), 'sluice-sources-http-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const SECRETS = {
  github: 'gh-secret-for-http-test',
  stripe: 'whsec_stripe_http_test_secret',
  shopify: 'shopify-http-test-secret',
  slack: 'slack-http-test-signing-secret',
  acme: 'whsec_' + Buffer.from('standard webhooks http key').toString('base64'),
  acmeOld: 'whsec_' + Buffer.from('previous standard webhooks key').toString('base64'),
}
const SLUICE_CONFIG = join(dir, 'sources.json')
writeFileSync(
  SLUICE_CONFIG,
  JSON.stringify({
    sources: {
      github: { verify: { type: 'github', secret: { env: 'SLUICE_HTTP_TEST_GH_SECRET' } } },
      stripe: { verify: { type: 'stripe', secret: SECRETS.stripe } },
      shopify: { verify: { type: 'shopify', secret: SECRETS.shopify } },
      slack: { verify: { type: 'slack', secret: SECRETS.slack } },
      acme: { verify: { type: 'standard-webhooks', secret: [SECRETS.acmeOld, SECRETS.acme] } },
      limited: { rateLimit: { perSecond: 0.01, burst: 3 } },
      perclient: { rateLimit: { perSecond: 0.01, burst: 1, perClient: true } },
      open: {},
    },
  }),
)

async function setup(t: Test) {
  const config = loadConfig({ SLUICE_CONFIG, SLUICE_HTTP_TEST_GH_SECRET: SECRETS.github })
  return startServer(t, { sources: buildSources(config.sources) })
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>) {
  const r = await fetch(url, { method: 'POST', body: new Uint8Array(Buffer.from(body)), headers })
  const text = await r.text()
  return {
    status: r.status,
    headers: r.headers,
    text,
    json: () => JSON.parse(text) as Record<string, string>,
  }
}

interface Case {
  path: string
  body: Buffer
  headers: Record<string, string>
  /** The sender's id, or null when it sends none (a UUIDv7 is expected). */
  id: string | null
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

t.test(
  'signed requests: 200, stored under the sender id with the exact bytes and the scheme',
  async (t) => {
    const { url, journal } = await setup(t)
    const ghBody = Buffer.from('{"action":"opened","issue":{"number":1}}\n')
    const stripeBody = Buffer.from(
      JSON.stringify({ id: 'evt_http_1', object: 'event', type: 'charge.succeeded' }),
    )
    const shopBody = Buffer.from('{"id":450789469,"total_price":"409.94"}')
    const slackBody = Buffer.from('token=abc&team_id=T1&command=%2Fsluice&text=hello+there')
    const acmeBody = Buffer.from('{"type":"user.created","data":{"id":"u_1"}}')
    const ts = nowSeconds()
    const slackSig = createHmac('sha256', SECRETS.slack)
      .update(`v0:${ts}:`)
      .update(slackBody)
      .digest('hex')
    const cases: Case[] = [
      {
        path: 'github',
        body: ghBody,
        headers: {
          'content-type': 'application/json',
          'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
          'x-github-event': 'issues',
          'x-hub-signature-256': await githubSign(SECRETS.github, ghBody.toString()),
        },
        id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      },
      {
        path: 'stripe',
        body: stripeBody,
        headers: {
          'content-type': 'application/json',
          'stripe-signature': new Stripe('sk_test_unused').webhooks.generateTestHeaderString({
            payload: stripeBody.toString(),
            secret: SECRETS.stripe,
          }),
        },
        id: 'evt_http_1',
      },
      {
        path: 'shopify',
        body: shopBody,
        headers: {
          'content-type': 'application/json',
          'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
          'x-shopify-hmac-sha256': createHmac('sha256', SECRETS.shopify)
            .update(shopBody)
            .digest('base64'),
        },
        id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      },
      {
        path: 'acme',
        body: acmeBody,
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'msg_http_1',
          'webhook-timestamp': String(ts),
          'webhook-signature': new Webhook(SECRETS.acmeOld).sign(
            'msg_http_1',
            new Date(ts * 1000),
            acmeBody.toString(),
          ),
        },
        id: 'msg_http_1',
      },
      {
        path: 'slack',
        body: slackBody,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': `v0=${slackSig}`,
        },
        id: null, // Slack sends no delivery id header: a UUIDv7
      },
    ]
    for (const c of cases) {
      const r = await post(`${url}/webhook/${c.path}`, c.body, c.headers)
      t.equal(r.status, 200, `${c.path}: 200 (${r.text})`)
      const answer = r.json()
      if (c.id) t.equal(answer.id, c.id, `${c.path}: the sender's id`)
      else t.match(answer.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/, `${c.path}: a UUIDv7`)
      const entry = (await journal.readPending(0, 100)).find((e) => e.source === c.path)
      t.ok(entry, `${c.path}: journaled`)
      t.equal(entry?.id, answer.id)
      t.ok(entry?.body.equals(c.body), `${c.path}: exact bytes`)
      t.equal(
        entry?.verifiedBy,
        c.path === 'acme' ? 'standard-webhooks' : c.path,
        `${c.path}: scheme recorded`,
      )
    }
    t.equal((await journal.stats()).pending, cases.length)
  },
)

t.test(
  'unsigned, tampered, wrong-secret or stale requests: 401 with the code, nothing stored',
  async (t) => {
    const { url, journal } = await setup(t)
    const body = Buffer.from('{"action":"closed"}')
    const good = await githubSign(SECRETS.github, body.toString())
    const ts = nowSeconds()
    const acmeBody = Buffer.from('{"type":"x"}')
    const acmeHeaders = (secret: string, at: number) => ({
      'webhook-id': 'msg_bad',
      'webhook-timestamp': String(at),
      'webhook-signature': new Webhook(secret).sign(
        'msg_bad',
        new Date(at * 1000),
        acmeBody.toString(),
      ),
    })
    const cases: Array<[string, string, Buffer, Record<string, string>, string]> = [
      ['missing header', 'github', body, {}, 'signature_missing'],
      [
        'tampered body',
        'github',
        Buffer.from('{"action":"opened"}'),
        { 'x-hub-signature-256': good },
        'signature_mismatch',
      ],
      [
        'wrong secret',
        'github',
        body,
        { 'x-hub-signature-256': await githubSign('not-the-secret', body.toString()) },
        'signature_mismatch',
      ],
      [
        'wrong secret',
        'acme',
        acmeBody,
        acmeHeaders('whsec_' + Buffer.from('wrong').toString('base64'), ts),
        'signature_mismatch',
      ],
      [
        'stale timestamp',
        'acme',
        acmeBody,
        acmeHeaders(SECRETS.acme, ts - 600),
        'timestamp_out_of_tolerance',
      ],
      [
        'future timestamp',
        'acme',
        acmeBody,
        acmeHeaders(SECRETS.acme, ts + 600),
        'timestamp_out_of_tolerance',
      ],
      ['missing header', 'stripe', body, {}, 'signature_missing'],
    ]
    for (const [what, path, b, headers, code] of cases) {
      const r = await post(`${url}/webhook/${path}`, b, headers)
      t.equal(r.status, 401, `${path} ${what}: 401`)
      const answer = r.json()
      t.same(
        { status: answer.status, error: answer.error },
        { status: 'error', error: code },
        `${path} ${what}`,
      )
      t.type(answer.message, 'string')
      for (const secret of Object.values(SECRETS))
        t.notOk(r.text.includes(secret), 'no secret in the body')
    }
    t.equal((await journal.stats()).pending, 0, 'nothing was stored')
  },
)

t.test("Slack's url_verification is answered with the challenge and not stored", async (t) => {
  const { url, journal } = await setup(t)
  const body = Buffer.from(
    JSON.stringify({ token: 't', challenge: 'chal-3eZbrw1aBm2', type: 'url_verification' }),
  )
  const ts = String(nowSeconds())
  const sig = createHmac('sha256', SECRETS.slack).update(`v0:${ts}:`).update(body).digest('hex')
  const r = await post(`${url}/webhook/slack`, body, {
    'content-type': 'application/json',
    'x-slack-request-timestamp': ts,
    'x-slack-signature': `v0=${sig}`,
  })
  t.equal(r.status, 200)
  t.equal(r.text, 'chal-3eZbrw1aBm2')
  t.match(r.headers.get('content-type'), /^text\/plain/)
  t.equal((await journal.stats()).pending, 0)
})

t.test(
  'a burst over the limit gets 429 with Retry-After; other sources are unaffected',
  async (t) => {
    const { url, journal } = await setup(t)
    for (let i = 0; i < 3; i++) {
      t.equal(
        (await post(`${url}/webhook/limited`, `{"n":${i}}`, {})).status,
        200,
        `burst request ${i + 1}`,
      )
    }
    const limited = await post(`${url}/webhook/limited`, '{"n":3}', {})
    t.equal(limited.status, 429)
    t.equal(limited.json().error, 'rate_limited')
    const retryAfter = Number(limited.headers.get('retry-after'))
    t.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1,
      `Retry-After is whole seconds (${retryAfter})`,
    )
    for (let i = 0; i < 10; i++) {
      t.equal(
        (await post(`${url}/webhook/open`, `{"n":${i}}`, {})).status,
        200,
        `open request ${i + 1}`,
      )
    }
    t.equal((await post(`${url}/webhook/limited`, '{"n":4}', {})).status, 429, 'still limited')
    const entries = await journal.readPending(0, 100)
    t.equal(
      entries.filter((e) => e.source === 'limited').length,
      3,
      'only the admitted ones stored',
    )
    t.equal(entries.filter((e) => e.source === 'open').length, 10)
  },
)

/** POST from a chosen loopback address, so the server sees another client. */
function postFrom(
  localAddress: string,
  url: string,
): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', localAddress }, (res) => {
      res.resume()
      // Node keeps only the first of repeated Retry-After headers: a string, never an array.
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }),
      )
    })
    req.on('error', reject)
    req.end('{}')
  })
}

t.test('per-client limit over HTTP: each client address has its own bucket', async (t) => {
  const { url } = await setup(t)
  const path = `${url}/webhook/perclient`
  t.equal((await postFrom('127.0.0.1', path)).status, 200)
  const limited = await postFrom('127.0.0.1', path)
  t.equal(limited.status, 429, 'the first client is over its limit')
  t.ok(Number(limited.retryAfter) >= 1, 'with Retry-After')
  t.equal((await postFrom('127.0.0.2', path)).status, 200, 'another client is not')
  t.equal((await postFrom('127.0.0.2', path)).status, 429)
})

failOnLeaks(t)
