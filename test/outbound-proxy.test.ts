import t, { type Test } from 'tap'
import type { IncomingHttpHeaders } from 'node:http'
import { Webhook } from 'standardwebhooks'
import type { Resolver } from '../src/outbound/agent.js'
import { attemptDelivery, type AttemptRequest } from '../src/outbound/attempt.js'
import { createEgress, type EgressConfig } from '../src/outbound/egress.js'
import { parseNoProxy, parseProxyUrl } from '../src/outbound/proxy-config.js'
import { generateSecret } from '../src/outbound/sign.js'
import { policyFromEnv } from '../src/outbound/ssrf.js'
import { readCaFile } from '../src/outbound/trust.js'
import { receiver } from './helpers/dispatch.js'
import {
  forwardProxy,
  type ForwardProxy,
  type ForwardProxyOptions,
} from './helpers/forward-proxy.js'
import { failOnLeaks } from './helpers/leaks.js'
import { canListen, httpReceiver, httpsReceiver, type Listener } from './helpers/receivers.js'
import { testCa } from './helpers/test-ca.js'

// Receivers live on 127.0.0.1, opened by the allow list; the proxy's own address is not judged.
const policy = policyFromEnv({ SLUICE_OUTBOUND_ALLOW: '127.0.0.1/32, ::1' })
const secret = generateSecret()
const BODY = '{"type":"order.paid","n":1}'

/** Like a hosts file: `*.test` names the tests use; anything else is not found. */
const HOSTS: Record<string, string> = {
  'receiver.test': '127.0.0.1',
  'other.test': '127.0.0.1',
  'internal.test': '10.0.0.5',
  'metadata.test': '169.254.169.254',
}
const resolve: Resolver = async (host) => {
  const address = HOSTS[host]
  if (!address)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  return [{ address, family: 4 }]
}

const ca = testCa()
const caPem = readCaFile(ca.caFile)
t.teardown(() => ca.remove())

const delivery = (url: string, extra: Partial<AttemptRequest> = {}): AttemptRequest => ({
  url,
  body: Buffer.from(BODY),
  contentType: 'application/json',
  webhookId: 'msg_1',
  secrets: [secret],
  ...extra,
})

async function proxyFor(t: Test, options?: ForwardProxyOptions): Promise<ForwardProxy> {
  const proxy = await forwardProxy(options)
  t.teardown(() => proxy.close())
  return proxy
}

function egressFor(t: Test, config: EgressConfig) {
  const egress = createEgress({ policy, resolve, ...config })
  t.teardown(() => egress.destroy())
  return egress
}

/** An https receiver with a certificate for `name` from the test CA, recording what it got. */
async function tlsReceiver(t: Test, name: string) {
  const got: { headers: IncomingHttpHeaders; body: string; servername: string | undefined }[] = []
  const listener: Listener = await httpsReceiver((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const servername = (req.socket as { servername?: string }).servername
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), servername })
      res.end('tls ok')
    })
  }, ca.serverCert(name))
  t.teardown(() => listener.close())
  return { ...listener, got }
}

const tick = () => new Promise((r) => setImmediate(r))

t.test('http through the proxy: absolute-form for the checked address, kept alive', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const proxy = await proxyFor(t, { credentials: 'sluice:p@ss word' })
  const dispatcher = egressFor(t, {
    proxy: parseProxyUrl(proxy.url('sluice:p%40ss%20word')),
  })
  const url = `http://receiver.test:${rx.port}/hook?x=1`
  // A subscription header naming the proxy's credentials does not reach the proxy.
  const forged = { headers: { 'Proxy-Authorization': 'Basic Zm9yZ2Vk', 'X-Tenant': 'acme' } }
  t.match(await attemptDelivery(delivery(url, forged), { dispatcher }), { outcome: 'success' })
  await tick()
  t.match(await attemptDelivery(delivery(url), { dispatcher }), { outcome: 'success' })

  t.same(
    proxy.asked.map((a) => `${a.method} ${a.target}`),
    [`POST http://127.0.0.1:${rx.port}/hook?x=1`, `POST http://127.0.0.1:${rx.port}/hook?x=1`],
    'the proxy was asked for the resolved and checked address',
  )
  const auth = `Basic ${Buffer.from('sluice:p@ss word').toString('base64')}`
  t.equal(proxy.asked[0]!.headers['proxy-authorization'], auth, 'the URL credentials, decoded')
  t.equal(proxy.asked[0]!.headers.host, `receiver.test:${rx.port}`, 'Host is the URL host')
  t.same(
    proxy.asked.map((a) => a.connection),
    [1, 1],
    'both requests on one kept-alive connection to the proxy',
  )
  const got = rx.received[0]!
  t.equal(got.body.toString(), BODY, 'the exact body')
  t.equal(got.headers.host, `receiver.test:${rx.port}`)
  t.equal(got.headers['x-tenant'], 'acme')
  t.notOk(got.headers['proxy-authorization'], 'no proxy credentials reach the receiver')
  const verified = new Webhook(secret).verify(got.body, got.headers as Record<string, string>)
  t.same(verified, JSON.parse(BODY), 'signed as Standard Webhooks')
})

t.test('https through CONNECT: the checked address, SNI and certificate by name', async (t) => {
  const rx = await tlsReceiver(t, 'receiver.test')
  const proxy = await proxyFor(t, { credentials: 'u:p' })
  const dispatcher = egressFor(t, { proxy: parseProxyUrl(proxy.url('u:p')), ca: caPem })
  const r = await attemptDelivery(delivery(`https://receiver.test:${rx.port}/hook`), { dispatcher })
  t.match(r, { outcome: 'success', status: 200, excerpt: 'tls ok' })
  t.same(
    proxy.asked.map((a) => `${a.method} ${a.target}`),
    [`CONNECT 127.0.0.1:${rx.port}`],
    'CONNECT named the checked address, not the name',
  )
  t.equal(proxy.asked[0]!.headers['proxy-authorization'], `Basic ${btoa('u:p')}`)
  const got = rx.got[0]!
  t.equal(got.servername, 'receiver.test', 'SNI is the URL name')
  t.equal(got.headers.host, `receiver.test:${rx.port}`)
  t.equal(got.body, BODY)
  t.ok(new Webhook(secret).verify(got.body, got.headers as Record<string, string>))

  // A certificate for another name fails, tunnel or not.
  const wrong = await tlsReceiver(t, 'other.test')
  const r2 = await attemptDelivery(delivery(`https://receiver.test:${wrong.port}/`), {
    dispatcher,
  })
  t.match(r2, { outcome: 'failure', error: 'tls', message: /receiver\.test/ })
  t.equal(wrong.got.length, 0, 'nothing was sent to it')
})

t.test('https through the proxy without the CA file fails tls', async (t) => {
  const rx = await tlsReceiver(t, 'receiver.test')
  const proxy = await proxyFor(t)
  const dispatcher = egressFor(t, { proxy: parseProxyUrl(proxy.url()) })
  const r = await attemptDelivery(delivery(`https://receiver.test:${rx.port}/`), { dispatcher })
  t.match(r, { outcome: 'failure', error: 'tls' })
  t.equal(proxy.asked.length, 1, 'the tunnel was opened: the failure is the certificate')
  t.equal(rx.got.length, 0)
})

t.test('the proxy refusing is an attempt failed with class proxy', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const tls = await tlsReceiver(t, 'receiver.test')
  const guarded = await proxyFor(t, { credentials: 'u:right' })
  const wrongCredentials = egressFor(t, { proxy: parseProxyUrl(guarded.url('u:wrong')) })
  const noCredentials = egressFor(t, { proxy: parseProxyUrl(guarded.url()), ca: caPem })
  const http = delivery(`http://receiver.test:${rx.port}/`)
  const https = delivery(`https://receiver.test:${tls.port}/`)
  const as407 = (what: RegExp) => ({
    outcome: 'failure',
    error: 'proxy',
    message: new RegExp(
      `proxy http://127\\.0\\.0\\.1:${guarded.port} answered 407 .*${what.source}.*SLUICE_OUTBOUND_PROXY`,
    ),
  })
  const r1 = await attemptDelivery(http, { dispatcher: wrongCredentials })
  t.match(r1, as407(/POST http:\/\/127\.0\.0\.1/))
  t.notOk('status' in r1 && r1.status === 407, 'not recorded as the receiver answering 407')
  t.match(
    await attemptDelivery(https, { dispatcher: noCredentials }),
    as407(/CONNECT 127\.0\.0\.1/),
  )
  t.equal(rx.received.length + tls.got.length, 0, 'nothing reached the receivers')

  for (const status of [403, 502]) {
    const refusing = await proxyFor(t, { refuseConnect: status })
    const dispatcher = egressFor(t, { proxy: parseProxyUrl(refusing.url()), ca: caPem })
    t.match(await attemptDelivery(https, { dispatcher }), {
      outcome: 'failure',
      error: 'proxy',
      message: new RegExp(`answered ${status} No to CONNECT 127\\.0\\.0\\.1:${tls.port}$`),
    })
  }

  // A proxy that is not there: its port, closed.
  const gone = await httpReceiver(() => {})
  await gone.close()
  const dispatcher = egressFor(t, { proxy: parseProxyUrl(`http://127.0.0.1:${gone.port}`) })
  for (const d of [http, https]) {
    t.match(await attemptDelivery(d, { dispatcher }), {
      outcome: 'failure',
      error: 'proxy',
      message: new RegExp(
        `cannot reach the proxy http://127\\.0\\.0\\.1:${gone.port}: .*ECONNREFUSED`,
      ),
    })
  }
})

t.test('a forbidden destination is refused before the proxy is contacted', async (t) => {
  const proxy = await proxyFor(t)
  const dispatcher = egressFor(t, { proxy: parseProxyUrl(proxy.url()), ca: caPem })
  const forbidden = [
    ['http://10.0.0.1/hook', /10\.0\.0\.1 is private/],
    ['https://10.0.0.1/hook', /10\.0\.0\.1 is private/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is link-local/],
    ['http://internal.test/hook', /10\.0\.0\.5 \(resolved from internal\.test\) is private/],
    ['https://internal.test/hook', /10\.0\.0\.5 \(resolved from internal\.test\) is private/],
    ['https://metadata.test/', /169\.254\.169\.254 \(resolved from metadata\.test\)/],
    ['http://[::ffff:10.0.0.1]/', /is private/],
  ] as const
  for (const [url, message] of forbidden) {
    const r = await attemptDelivery(delivery(url), { dispatcher })
    t.match(r, { outcome: 'failure', error: 'ssrf_refused', message }, url)
  }
  t.equal(proxy.accepted(), 0, 'the proxy never saw a connection')
})

t.test('SLUICE_OUTBOUND_NO_PROXY: matched destinations connect directly', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const tls = await tlsReceiver(t, 'receiver.test')
  const proxy = await proxyFor(t)
  const dispatcher = egressFor(t, {
    proxy: parseProxyUrl(proxy.url()),
    noProxy: parseNoProxy('receiver.test, .corp.test, 127.0.0.0/8'),
    ca: caPem,
  })
  const direct = [
    `http://receiver.test:${rx.port}/a`,
    `https://receiver.test:${tls.port}/b`,
    `http://127.0.0.1:${rx.port}/c`,
  ]
  for (const url of direct) {
    t.match(await attemptDelivery(delivery(url), { dispatcher }), { outcome: 'success' }, url)
  }
  t.equal(proxy.accepted(), 0, 'the proxy saw nothing')
  t.equal(tls.got[0]?.servername, 'receiver.test', 'the CA file serves direct https too')
  // Not matched: `other.test` is neither listed nor under .corp.test.
  const r = await attemptDelivery(delivery(`http://other.test:${rx.port}/d`), { dispatcher })
  t.match(r, { outcome: 'success' })
  t.same(
    proxy.asked.map((a) => a.target),
    [`http://127.0.0.1:${rx.port}/d`],
  )
  t.same(
    rx.received.map((x) => x.url),
    ['/a', '/c', '/d'],
  )
  // Still judged by the policy when direct: the NO_PROXY list opens nothing.
  const bypassing = egressFor(t, { proxy: parseProxyUrl(proxy.url()), noProxy: parseNoProxy('*') })
  t.match(await attemptDelivery(delivery('http://internal.test/'), { dispatcher: bypassing }), {
    error: 'ssrf_refused',
  })
})

t.test('the deadline covers resolving a name for the proxy', async (t) => {
  const proxy = await proxyFor(t)
  let released = false
  let release = () => {}
  const stuck: Resolver = () =>
    new Promise((resolve) => {
      release = () => {
        released = true
        resolve([{ address: '127.0.0.1', family: 4 }])
      }
    })
  // A safety net only: without the deadline the attempt would wait for this answer.
  const net = setTimeout(() => release(), 30_000)
  t.teardown(() => {
    clearTimeout(net)
    release()
  })
  let asked = 0
  const firstStuck: Resolver = (host) => (asked++ === 0 ? stuck(host) : resolve(host))
  const dispatcher = createEgress({
    policy,
    resolve: firstStuck,
    proxy: parseProxyUrl(proxy.url()),
  })
  t.teardown(() => dispatcher.destroy())
  const r = await attemptDelivery(delivery('http://slow.test/'), { dispatcher, timeoutMs: 200 })
  t.match(r, { outcome: 'failure', error: 'timeout' })
  t.notOk(released, 'the attempt ended while the name was still being resolved')

  // The name resolves after all: the ended attempt must not take a connection to the proxy.
  // Had it been dispatched, the next request would find its connection destroyed and open one
  // more (a request is aborted, with its socket, when undici starts it).
  release()
  await new Promise((r) => setImmediate(r))
  const rx = await receiver()
  t.teardown(() => rx.close())
  const ok = await attemptDelivery(delivery(`http://receiver.test:${rx.port}/`), { dispatcher })
  t.match(ok, { outcome: 'success' })
  t.equal(proxy.accepted(), 1, 'one connection to the proxy: the ended attempt sent nothing')
})

// Skipped, and said so, where ::1 cannot be bound: a pass there would count a test not run.
const noV6 = (await canListen('::1')) ? false : '::1 cannot be bound on this machine'
t.test('an IPv6 destination is named in brackets', { skip: noV6 }, async (t) => {
  const rx = await httpReceiver((req, res) => void req.resume().on('end', () => res.end()), '::1')
  t.teardown(() => rx.close())
  const proxy = await proxyFor(t)
  const dispatcher = egressFor(t, { proxy: parseProxyUrl(proxy.url()) })
  const r = await attemptDelivery(delivery(`http://[::1]:${rx.port}/six`), { dispatcher })
  t.match(r, { outcome: 'success' })
  t.equal(proxy.asked[0]?.target, `http://[::1]:${rx.port}/six`)
  t.equal(proxy.asked[0]?.headers.host, `[::1]:${rx.port}`)
})

failOnLeaks(t)
