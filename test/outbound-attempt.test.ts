import t, { type Test } from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Webhook } from 'standardwebhooks'
import { createOutboundAgent, type Resolver } from '../src/outbound/agent.js'
import { attemptDelivery, type AttemptRequest } from '../src/outbound/attempt.js'
import { generateSecret } from '../src/outbound/sign.js'
import { policyFromEnv, PUBLIC_ONLY } from '../src/outbound/ssrf.js'
import { failOnLeaks } from './helpers/leaks.js'
import { canListen, httpReceiver } from './helpers/receivers.js'

// Receivers live on 127.0.0.1, opened by the allow list as every outbound test does.
const policy = policyFromEnv({ SLUICE_OUTBOUND_ALLOW: '127.0.0.1/32' })
const secret = generateSecret()
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)

const delivery = (url: string, extra: Partial<AttemptRequest> = {}): AttemptRequest => ({
  url,
  body: Buffer.from('{"type":"order.paid","n":1}'),
  contentType: 'application/json',
  webhookId: 'evt_1',
  secrets: [secret],
  ...extra,
})

function agentFor(t: Test, resolve?: Resolver) {
  const agent = createOutboundAgent({ policy, ...(resolve ? { resolve } : {}) })
  t.teardown(() => agent.close())
  return agent
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

t.test(
  'the POST carries the exact bytes, content type, headers and a valid signature',
  async (t) => {
    const seen: { headers: IncomingMessage['headers']; body: Buffer }[] = []
    const receiver = await httpReceiver((req, res) => {
      void readBody(req).then((body) => {
        seen.push({ headers: req.headers, body })
        res.end('thanks')
      })
    })
    t.teardown(() => receiver.close())
    const dispatcher = agentFor(t)
    const r = await attemptDelivery(
      delivery(`${receiver.origin}/hook?x=1`, {
        // The subscription's headers; the framing and signing ones cannot be overridden.
        headers: {
          'X-Tenant': 'acme',
          'Webhook-Id': 'forged',
          Host: 'evil',
          'Content-Type': 'x/y',
        },
      }),
      { dispatcher },
    )
    t.match(r, { outcome: 'success', status: 200, excerpt: 'thanks', truncated: false })
    const got = seen[0]!
    t.equal(got.body.toString(), '{"type":"order.paid","n":1}')
    t.equal(got.headers['content-type'], 'application/json')
    t.equal(got.headers['x-tenant'], 'acme')
    t.equal(got.headers['webhook-id'], 'evt_1')
    t.equal(got.headers.host, `127.0.0.1:${receiver.port}`)
    t.match(got.headers['user-agent'], /^Sluice\//)
    const headers = got.headers as Record<string, string>
    t.same(new Webhook(secret).verify(got.body, headers), { type: 'order.paid', n: 1 })

    // Non-UTF-8 bytes arrive as they were; the timestamp is this attempt's clock.
    const binary = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80, 0x0a])
    const r2 = await attemptDelivery(
      delivery(receiver.origin, { body: binary, contentType: 'application/octet-stream' }),
      { dispatcher, now: () => NOW },
    )
    t.equal(r2.outcome, 'success')
    t.ok(seen[1]!.body.equals(binary), 'byte for byte')
    t.equal(seen[1]!.headers['webhook-timestamp'], String(NOW / 1000))
    t.equal(seen[1]!.headers['content-length'], String(binary.length))

    // Tracing on: the attempt's traceparent goes out, in place of the subscription's own.
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const r3 = await attemptDelivery(
      delivery(receiver.origin, { headers: { traceparent: 'theirs' }, traceparent }),
      { dispatcher },
    )
    t.equal(r3.outcome, 'success')
    t.equal(seen[2]!.headers.traceparent, traceparent)
    t.equal(seen[0]!.headers.traceparent, undefined, 'none without tracing')
  },
)

t.test('status codes and Retry-After', async (t) => {
  const routes: Record<string, (res: ServerResponse) => void> = {
    '/ok201': (res) => res.writeHead(201).end('created'),
    '/ok204': (res) => res.writeHead(204).end(),
    '/500': (res) => res.writeHead(500).end('boom'),
    '/404': (res) => res.writeHead(404).end('no'),
    '/410': (res) => res.writeHead(410).end('gone'),
    '/503': (res) => res.writeHead(503).end(),
    '/429s': (res) => res.writeHead(429, { 'retry-after': '120' }).end(),
    '/503d': (res) =>
      res.writeHead(503, { 'retry-after': new Date(NOW + 30_000).toUTCString() }).end(),
    '/429neg': (res) => res.writeHead(429, { 'retry-after': '-5' }).end(),
    '/503junk': (res) => res.writeHead(503, { 'retry-after': 'soon' }).end(),
    '/503big': (res) => res.writeHead(503, { 'retry-after': '86400' }).end(),
    '/500ra': (res) => res.writeHead(500, { 'retry-after': '60' }).end(),
  }
  const receiver = await httpReceiver((req, res) => {
    req.resume()
    routes[req.url ?? '']!(res)
  })
  t.teardown(() => receiver.close())
  const dispatcher = agentFor(t)
  const run = (path: string) =>
    attemptDelivery(delivery(receiver.origin + path), { dispatcher, now: () => NOW })
  t.match(await run('/ok201'), { outcome: 'success', status: 201, excerpt: 'created' })
  t.match(await run('/ok204'), { outcome: 'success', status: 204, excerpt: '' })
  t.match(await run('/500'), { outcome: 'failure', status: 500, error: 'status_5xx' })
  t.match(await run('/500'), { excerpt: 'boom' })
  t.match(await run('/404'), { outcome: 'failure', status: 404, error: 'status_4xx' })
  t.match(await run('/410'), {
    outcome: 'gone',
    status: 410,
    excerpt: 'gone',
    error: 'gone',
    message: '410 Gone: subscription disabled',
  })
  const noHint = { outcome: 'retry', retryAfterMs: undefined }
  t.match(await run('/503'), { ...noHint, status: 503, error: 'status_5xx' })
  t.match(await run('/429s'), { outcome: 'retry', status: 429, retryAfterMs: 120_000 })
  t.match(await run('/503d'), { outcome: 'retry', status: 503, retryAfterMs: 30_000 })
  t.match(await run('/429neg'), { ...noHint, status: 429, error: 'status_4xx' })
  t.match(await run('/503junk'), noHint)
  t.match(await run('/503big'), { outcome: 'retry', retryAfterMs: 3_600_000 })
  // Retry-After belongs to "come back later" answers; a 500 is a plain failure.
  t.notOk('retryAfterMs' in (await run('/500ra')))
})

t.test('redirects are failures and are not followed', async (t) => {
  // A listener on 127.0.0.2, which the policy refuses: a followed redirect to it would be a
  // connection the guard should have stopped. Not every machine can bind 127.0.0.2.
  const other = (await canListen('127.0.0.2'))
    ? await httpReceiver((_q, s) => s.end(), '127.0.0.2')
    : null
  t.teardown(() => other?.close())
  let targetHits = 0
  const receiver = await httpReceiver((req, res) => {
    req.resume()
    if (req.url === '/target') return void (targetHits++, res.end('followed'))
    const [, code, where] = /^\/(\d+)\/(.*)$/.exec(req.url ?? '')!
    res.writeHead(Number(code), { location: decodeURIComponent(where!) }).end('moved')
  })
  t.teardown(() => receiver.close())
  const dispatcher = agentFor(t)
  const targets = [`${receiver.origin}/target`, 'http://10.0.0.1/admin', 'http://169.254.169.254/']
  if (other) targets.push(`${other.origin}/`)
  for (const code of [301, 302, 303, 307, 308]) {
    for (const target of targets) {
      const url = `${receiver.origin}/${code}/${encodeURIComponent(target)}`
      const r = await attemptDelivery(delivery(url), { dispatcher })
      t.match(r, { outcome: 'failure', status: code, error: 'redirect', excerpt: 'moved' }, url)
    }
  }
  t.equal(targetHits, 0, 'the loopback target was never requested')
  t.equal(other?.accepted() ?? 0, 0, 'nothing connected to 127.0.0.2', {
    skip: other ? false : '127.0.0.2 cannot be bound on this machine',
  })
})

t.test('errors before any answer, each with its class', async (t) => {
  const receiver = await httpReceiver((req, res) => void req.resume().on('end', () => res.end()))
  t.teardown(() => receiver.close())
  const resolve: Resolver = async (host) => {
    if (host === 'receiver.test') return [{ address: '127.0.0.1', family: 4 }]
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  }
  const dispatcher = agentFor(t, resolve)
  const closed = await httpReceiver(() => {})
  const closedPort = closed.port
  await closed.close()
  const cases: [string, object][] = [
    [`http://127.0.0.1:${closedPort}/`, { error: 'connection_refused' }],
    [`https://127.0.0.1:${receiver.port}/`, { error: 'tls' }],
    ['http://nowhere.test/', { error: 'dns' }],
    [`http://receiver.test:${receiver.port}/`, { outcome: 'success' }],
    ['ftp://127.0.0.1/', { error: 'invalid_url' }],
    [`http://u:p@127.0.0.1:${receiver.port}/`, { error: 'invalid_url' }],
    ['not a url', { error: 'invalid_url' }],
    [`http://127.0.0.2:${receiver.port}/`, { error: 'ssrf_refused', message: /127\.0\.0\.2/ }],
  ]
  for (const [url, expected] of cases) {
    const r = await attemptDelivery(delivery(url), { dispatcher })
    t.match(r, expected, url)
    if (r.outcome === 'failure') t.notOk('status' in r, `${url}: no status without an answer`)
  }
  const bad = await attemptDelivery(
    delivery(receiver.origin, { headers: { 'x-evil': 'a\r\nx-injected: 1' } }),
    { dispatcher },
  )
  t.match(bad, { outcome: 'failure', error: 'invalid_request' }, 'CR/LF in a header value')
  const badSecret = await attemptDelivery(delivery(receiver.origin, { secrets: ['nope'] }), {
    dispatcher,
  })
  t.match(badSecret, { outcome: 'failure', error: 'invalid_request', message: /whsec_/ })
  await t.rejects(
    attemptDelivery(delivery(receiver.origin), { dispatcher, timeoutMs: 0 }),
    TypeError,
  )
  t.equal(receiver.accepted(), 2, 'only the TLS attempt and receiver.test connected')

  // The same receiver, without the allow list: refused before any connection.
  const strict = createOutboundAgent({ policy: PUBLIC_ONLY })
  t.teardown(() => strict.close())
  const r = await attemptDelivery(delivery(receiver.origin), { dispatcher: strict })
  t.match(r, { outcome: 'failure', error: 'ssrf_refused', message: /loopback/ })
  t.equal(receiver.accepted(), 2, 'no new connection')
})

failOnLeaks(t)
