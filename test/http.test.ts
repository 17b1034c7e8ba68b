import t from 'tap'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { startServer, openSource, rawRequest } from './helpers/http-server.js'
import type { IngestSource } from '../src/sources/types.js'
import type { Journal } from '../journal/types.js'
import { failOnLeaks } from './helpers/leaks.js'

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

async function post(url: string, body: BodyInit | null, headers: Record<string, string> = {}) {
  const r = await fetch(url, { method: 'POST', body, headers })
  return { status: r.status, headers: r.headers, json: (await r.json()) as Record<string, string> }
}

t.test('POST /webhook commits the exact bytes and answers with the id', async (t) => {
  const { url, journal } = await startServer(t)
  const cases: Array<[string | null, Buffer]> = [
    ['application/json', Buffer.from('{"hello":"world","n":[1,2,3]}')],
    ['application/x-www-form-urlencoded', Buffer.from('a=1&b=%20two&c=')],
    ['text/plain; charset=utf-8', Buffer.from('plain text ünïcödé\r\n')],
    ['application/octet-stream', randomBytes(65536)],
    [null, randomBytes(300)],
    ['application/json', Buffer.alloc(0)],
  ]
  const ids: string[] = []
  for (const [ct, body] of cases) {
    const headers: Record<string, string> = { 'X-Custom-Header': 'Some Value' }
    if (ct) headers['content-type'] = ct
    const r = await post(`${url}/webhook`, new Uint8Array(body), headers)
    t.equal(r.status, 200, `${ct} accepted`)
    t.equal(r.json.status, 'success')
    t.match(r.json.id, UUIDV7, 'id is a new UUIDv7')
    ids.push(r.json.id!)
  }
  const entries = await journal.readPending(0, 100)
  t.equal(entries.length, cases.length)
  entries.forEach((e, i) => {
    const [ct, body] = cases[i]!
    t.equal(e.id, ids[i])
    t.equal(e.source, 'default')
    t.equal(e.contentType, ct ?? '')
    t.ok(e.body.equals(body), `body ${i} byte for byte`)
    t.equal(e.headers['x-custom-header'], 'Some Value', 'header names lower-cased, values kept')
    t.equal(e.verifiedBy, null)
  })
})

t.test('event id rules', async (t) => {
  const providerSource: IngestSource = {
    name: 'stripe',
    admit: () => null,
    verify: () => ({ ok: true, verifiedBy: 'stripe', providerId: 'evt_from_body' }),
  }
  const { url, journal } = await startServer(t, {
    sources: new Map([
      ['default', openSource('default')],
      ['stripe', providerSource],
    ]),
  })
  const idOf = async (headers: Record<string, string>, path = '/webhook') =>
    (await post(`${url}${path}`, '{}', headers)).json.id
  t.equal(await idOf({ 'Idempotency-Key': 'idem-1', 'webhook-id': 'wh-1' }), 'idem-1')
  t.equal(await idOf({ 'webhook-id': 'wh-1', 'svix-id': 'svix-1' }), 'wh-1')
  t.equal(await idOf({ 'svix-id': 'svix-1', 'X-GitHub-Delivery': 'gh-1' }), 'svix-1')
  t.equal(await idOf({ 'X-GitHub-Delivery': 'gh-1', 'X-Shopify-Webhook-Id': 'sh-1' }), 'gh-1')
  t.equal(await idOf({ 'X-Shopify-Webhook-Id': 'sh-1' }), 'sh-1')
  t.equal(await idOf({}, '/webhook/stripe'), 'evt_from_body', 'provider id from verify')
  t.equal(
    await idOf({ 'Idempotency-Key': 'idem-2', 'webhook-id': 'wh-2' }, '/webhook/stripe'),
    'evt_from_body',
    'the signed id outranks the unsigned headers',
  )
  t.equal(await idOf({ 'Idempotency-Key': 'k'.repeat(256) }), 'k'.repeat(256), '256 chars ok')
  const long = await post(`${url}/webhook`, '{}', { 'Idempotency-Key': 'k'.repeat(257) })
  t.equal(long.status, 400)
  t.same(long.json.error, 'invalid_event_id')
  t.equal(long.json.status, 'error')
  t.type(long.json.message, 'string')
  const stripe = (await journal.readPending(0, 100)).filter((e) => e.source === 'stripe')
  t.equal(stripe.length, 2)
  t.equal(stripe[0]!.verifiedBy, 'stripe', 'verifiedBy flows into the event')
  t.equal((await journal.stats()).pending, 8, 'the rejected id was not journaled')
})

t.test('routes, methods and unknown sources', async (t) => {
  const { url } = await startServer(t)
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    for (const path of ['/webhook', '/webhook/default']) {
      const r = await fetch(`${url}${path}`, { method })
      t.equal(r.status, 405, `${method} ${path}`)
      t.equal(r.headers.get('allow'), 'POST')
      t.same(await r.json(), {
        status: 'error',
        error: 'method_not_allowed',
        message: 'only POST is allowed on /webhook',
      })
    }
  }
  const unknown = await post(`${url}/webhook/nope`, '{}')
  t.equal(unknown.status, 404)
  t.equal(unknown.json.error, 'unknown_source')
  const other = await fetch(`${url}/elsewhere`)
  t.equal(other.status, 404)
  t.equal(((await other.json()) as { error: string }).error, 'not_found')
  const health = await fetch(`${url}/healthz`)
  t.equal(health.status, 200)
  await health.body?.cancel()
  const metrics = await fetch(`${url}/metrics`)
  t.equal(metrics.status, 200)
  t.match(
    await metrics.text(),
    /sluice_http_responses_total\{route="webhook",status="405",source="",code="method_not_allowed"\}/,
  )
})

t.test(
  'body limit: 413 from Content-Length, and as soon as a chunked body crosses it',
  async (t) => {
    const { url, server, journal } = await startServer(t, { maxBodyBytes: 1000 })
    t.equal(
      (await post(`${url}/webhook`, new Uint8Array(1000))).status,
      200,
      'exactly the limit is ok',
    )
    const over = await post(`${url}/webhook`, new Uint8Array(1001))
    t.equal(over.status, 413)
    t.equal(over.json.error, 'body_too_large')
    // Content-Length far over the limit and no body sent at all: answered from the header.
    const fromHeader = await rawRequest(
      server.port,
      'POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n',
    )
    t.match(fromHeader, /^HTTP\/1\.1 413 /)
    t.match(fromHeader, /"error":"body_too_large"/)
    // Chunked, no Content-Length: one 1500-byte chunk and the request left unfinished.
    const chunked = await rawRequest(
      server.port,
      `POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5dc\r\n${'a'.repeat(1500)}\r\n`,
    )
    t.match(chunked, /^HTTP\/1\.1 413 /, 'answered before the body ended')
    // A chunked body under the limit, streamed in pieces, is accepted.
    const ok = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${url}/webhook`, { method: 'POST' }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', reject)
      for (let i = 0; i < 9; i++) req.write('x'.repeat(100))
      req.end()
    })
    t.equal(ok.status, 200)
    t.equal((await journal.readPending(0, 10)).length, 2)
    const last = (await journal.readPending(0, 10))[1]!
    t.equal(last.body.toString(), 'x'.repeat(900))
    t.equal(last.headers['transfer-encoding'], 'chunked')
  },
)

t.test('event larger than the broker can carry gets 413 event_too_large', async (t) => {
  const { url, journal } = await startServer(t, { maxEventBytes: 2000 })
  t.equal((await post(`${url}/webhook`, new Uint8Array(100))).status, 200)
  const r = await post(`${url}/webhook`, new Uint8Array(1990))
  t.equal(r.status, 413)
  t.equal(r.json.error, 'event_too_large')
  t.equal((await journal.stats()).pending, 1)
})

t.test(
  'source rejections: 401, 429 with Retry-After, and replies that are not journaled',
  async (t) => {
    let admitted = 0
    const sources = new Map<string, IngestSource>([
      ['default', openSource('default')],
      [
        'signed',
        {
          name: 'signed',
          admit: () => null,
          verify: ({ headers }) =>
            headers['x-sig'] === 'good'
              ? { ok: true, verifiedBy: 'hmac' }
              : { ok: false, status: 401, code: 'signature_mismatch', message: 'bad signature' },
        },
      ],
      [
        'limited',
        {
          name: 'limited',
          admit: (addr) => {
            admitted++
            t.match(addr, /127\.0\.0\.1|::1/, 'client address passed to admit')
            return {
              ok: false,
              status: 429,
              code: 'rate_limited',
              message: 'slow down',
              retryAfterSeconds: 7,
            }
          },
          verify: () => ({ ok: true, verifiedBy: null }),
        },
      ],
      [
        'slack',
        {
          name: 'slack',
          admit: () => null,
          verify: () => ({
            ok: true,
            verifiedBy: 'slack',
            reply: { status: 200, contentType: 'text/plain', body: 'challenge-token' },
          }),
        },
      ],
    ])
    const { url, journal } = await startServer(t, { sources })
    const bad = await post(`${url}/webhook/signed`, '{}', { 'x-sig': 'bad' })
    t.equal(bad.status, 401)
    t.same(bad.json, { status: 'error', error: 'signature_mismatch', message: 'bad signature' })
    const good = await post(`${url}/webhook/signed`, '{}', { 'x-sig': 'good' })
    t.equal(good.status, 200)
    const limited = await post(`${url}/webhook/limited`, '{}')
    t.equal(limited.status, 429)
    t.equal(limited.json.error, 'rate_limited')
    t.equal(limited.headers.get('retry-after'), '7')
    t.equal(admitted, 1)
    const slack = await fetch(`${url}/webhook/slack`, { method: 'POST', body: '{}' })
    t.equal(slack.status, 200)
    t.equal(slack.headers.get('content-type'), 'text/plain')
    t.equal(await slack.text(), 'challenge-token')
    const entries = await journal.readPending(0, 10)
    t.same(
      entries.map((e) => [e.source, e.verifiedBy]),
      [['signed', 'hmac']],
    )
  },
)

t.test('503 journal_full with Retry-After once the quota is reached; readyz says so', async (t) => {
  const { url } = await startServer(t, {}, { maxBytes: 100_000 })
  let last = await post(`${url}/webhook`, new Uint8Array(10_000))
  for (let i = 0; i < 50 && last.status === 200; i++)
    last = await post(`${url}/webhook`, new Uint8Array(10_000))
  t.equal(last.status, 503)
  t.equal(last.json.error, 'journal_full')
  t.ok(Number(last.headers.get('retry-after')) > 0, 'Retry-After')
  const ready = await fetch(`${url}/readyz`)
  t.equal(ready.status, 503)
  const body = (await ready.json()) as { checks: { journal: { state: string; ok: boolean } } }
  t.equal(body.checks.journal.state, 'full')
})

t.test('503 journal_unavailable when the commit fails', async (t) => {
  const failing: Journal = {
    start: async () => {},
    append: async () => {
      throw new Error('disk I/O error')
    },
    readPending: () => [],
    markForwarded: async () => {},
    stats: () => ({ pending: 0, bytes: 0, oldestPendingAt: null }),
    forwardedThrough: () => Date.now(),
    close: async () => {},
  }
  const { url } = await startServer(t, { journal: failing })
  const r = await post(`${url}/webhook`, '{}')
  t.equal(r.status, 503)
  t.equal(r.json.error, 'journal_unavailable')
  t.ok(r.headers.get('retry-after'))
})

t.test('readyz, extra checks, and 503 shutting_down after stopAccepting', async (t) => {
  let brokerOk = true
  const { url, server } = await startServer(t, {
    readiness: async () => ({ broker: { ok: brokerOk, detail: 'amqp' } }),
  })
  const ready = await fetch(`${url}/readyz`)
  t.equal(ready.status, 200)
  const body = (await ready.json()) as {
    status: string
    checks: Record<string, Record<string, unknown>>
  }
  t.equal(body.status, 'ready')
  t.equal(body.checks.journal?.state, 'open')
  t.type(body.checks.journal?.backlog, 'number')
  t.type(body.checks.journal?.freeDiskBytes, 'number')
  t.same(body.checks.broker, { ok: true, detail: 'amqp' })
  // Extra checks are informative: ingest works while the broker is down (the journal holds it).
  brokerOk = false
  const brokerDown = await fetch(`${url}/readyz`)
  t.equal(brokerDown.status, 200, 'a failing extra check does not make it not ready')
  const downBody = (await brokerDown.json()) as { checks: Record<string, unknown> }
  t.same(downBody.checks.broker, { ok: false, detail: 'amqp' }, 'but it is shown')
  brokerOk = true
  server.stopAccepting()
  const r = await post(`${url}/webhook`, '{}')
  t.equal(r.status, 503)
  t.equal(r.json.error, 'shutting_down')
  t.ok(r.headers.get('retry-after'))
  t.equal((await fetch(`${url}/readyz`)).status, 503)
})

failOnLeaks(t)
