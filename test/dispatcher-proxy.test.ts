import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { Webhook } from 'standardwebhooks'
import { loadConfig } from '../src/config.js'
import { upsertSubscription } from '../src/db/subscriptions.js'
import { dispatcherThread } from '../src/dispatcher/thread.js'
import type { Resolver } from '../src/outbound/agent.js'
import type { EgressConfig } from '../src/outbound/egress.js'
import { parseProxyUrl } from '../src/outbound/proxy-config.js'
import { SecretBox } from '../src/util/secret-box.js'
import { generateSecret } from '../src/outbound/sign.js'
import { readCaFile } from '../src/outbound/trust.js'
import { dispatchDb, receiver, testDispatcher, type DispatchDb } from './helpers/dispatch.js'
import { forwardProxy, type ForwardProxyOptions } from './helpers/forward-proxy.js'
import { failOnLeaks } from './helpers/leaks.js'
import { httpsReceiver } from './helpers/receivers.js'
import { testCa } from './helpers/test-ca.js'
import { until } from './helpers/wait.js'

// End to end through the Dispatcher: stored event -> claim -> egress -> proxy -> receiver.
let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_dispatch_proxy')
})
const ca = testCa()
t.teardown(() => ca.remove())

const HOSTS: Record<string, string> = { 'receiver.test': '127.0.0.1', 'internal.test': '10.0.0.5' }
const resolve: Resolver = async (host) => {
  const address = HOSTS[host]
  if (!address)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  return [{ address, family: 4 }]
}

async function proxyFor(t: Test, options?: ForwardProxyOptions) {
  const proxy = await forwardProxy(options)
  t.teardown(() => proxy.close())
  return proxy
}

// A failed attempt is retried only after 10 minutes: no retry of one subtest reaches the next's
// proxy. The poll is long: these dispatchers are woken by NOTIFY.
const dispatcher = (t: Test, egress: EgressConfig) =>
  testDispatcher(t, db, { resolve, egress, schedule: [600], pollMs: 60_000 })

const attemptsOf = async (eventId: string) =>
  (
    await db.pool.query<{ error: string | null; message: string | null; status: string }>(
      `SELECT a.error, a.message, d.status FROM delivery_attempts a
       JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1`,
      [eventId],
    )
  ).rows

t.test('http through the proxy: signed, exact body, recorded as delivered', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const proxy = await proxyFor(t, { credentials: 'sluice:s3cret' })
  const sub = await db.subscribe({
    url: `http://receiver.test:${rx.port}/hook`,
    eventTypes: ['plain.*'],
  })
  await dispatcher(t, { proxy: parseProxyUrl(proxy.url('sluice:s3cret')) }).start()
  const body = '{"type":"plain.one","amount":12}'
  await db.store([{ id: 'p1', body: Buffer.from(body) }])
  await until('delivered', async () => (await attemptsOf('p1'))[0]?.status === 'succeeded')
  t.same(
    proxy.asked.map((a) => `${a.method} ${a.target}`),
    [`POST http://127.0.0.1:${rx.port}/hook`],
    'absolute-form, naming the checked address',
  )
  t.equal(proxy.asked[0]!.headers['proxy-authorization'], `Basic ${btoa('sluice:s3cret')}`)
  const got = rx.received[0]!
  t.equal(got.body.toString(), body)
  t.equal(got.headers.host, `receiver.test:${rx.port}`, 'Host is the subscription URL host')
  const wh = new Webhook(sub.secret)
  t.same(wh.verify(got.body.toString(), got.headers as Record<string, string>), JSON.parse(body))
})

t.test('https through CONNECT with the CA file: SNI and certificate by name', async (t) => {
  const seen: { body: string; servername?: string; headers: Record<string, unknown> }[] = []
  const rx = await httpsReceiver((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const servername = (req.socket as { servername?: string }).servername
      seen.push({ body: Buffer.concat(chunks).toString(), servername, headers: req.headers })
      res.end()
    })
  }, ca.serverCert('receiver.test'))
  t.teardown(() => rx.close())
  const proxy = await proxyFor(t)
  const sub = await db.subscribe({
    url: `https://receiver.test:${rx.port}/hook`,
    eventTypes: ['tls.*'],
  })
  await dispatcher(t, { proxy: parseProxyUrl(proxy.url()), ca: readCaFile(ca.caFile) }).start()
  await db.store([{ id: 's1', body: Buffer.from('{"type":"tls.one"}') }])
  await until('delivered', async () => (await attemptsOf('s1'))[0]?.status === 'succeeded')
  t.same(
    proxy.asked.map((a) => `${a.method} ${a.target}`),
    [`CONNECT 127.0.0.1:${rx.port}`],
  )
  t.equal(seen[0]?.servername, 'receiver.test')
  t.equal(seen[0]?.body, '{"type":"tls.one"}')
  t.ok(new Webhook(sub.secret).verify(seen[0]!.body, seen[0]!.headers as Record<string, string>))
})

t.test('a 407 from the proxy is an attempt failed with class proxy', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const proxy = await proxyFor(t, { credentials: 'sluice:right' })
  await db.subscribe({ url: `http://receiver.test:${rx.port}/hook`, eventTypes: ['auth.*'] })
  await dispatcher(t, { proxy: parseProxyUrl(proxy.url('sluice:wrong')) }).start()
  await db.store([{ id: 'a1', body: Buffer.from('{"type":"auth.one"}') }])
  await until('attempted', async () => (await attemptsOf('a1')).length === 1)
  t.match(await attemptsOf('a1'), [
    {
      status: 'pending',
      error: 'proxy',
      message: /the proxy http:\/\/127\.0\.0\.1:\d+ answered 407 Proxy Authentication Required/,
    },
  ])
  t.equal(rx.received.length, 0)
})

t.test('forbidden destinations are refused before the proxy hears of them', async (t) => {
  const proxy = await proxyFor(t)
  await db.subscribe({ url: 'http://169.254.169.254/latest/meta-data/', eventTypes: ['bad.*'] })
  await db.subscribe({ url: 'https://internal.test/hook', eventTypes: ['bad.*'] })
  await db.subscribe({ url: 'http://10.1.2.3:8080/hook', eventTypes: ['bad.*'] })
  await dispatcher(t, { proxy: parseProxyUrl(proxy.url()), ca: readCaFile(ca.caFile) }).start()
  await db.store([{ id: 'b1', body: Buffer.from('{"type":"bad.one"}') }])
  await until('attempted', async () => (await attemptsOf('b1')).length === 3)
  const rows = await attemptsOf('b1')
  t.same(
    rows.map((r) => r.error),
    ['ssrf_refused', 'ssrf_refused', 'ssrf_refused'],
  )
  t.match(rows.map((r) => r.message).sort(), [
    /^destination 10\.0\.0\.5 \(resolved from internal\.test\) is private/,
    /^destination 10\.1\.2\.3 is private/,
    /^destination 169\.254\.169\.254 is link-local/,
  ])
  t.equal(proxy.accepted(), 0, 'no connection reached the proxy')
})

t.test('the variables reach the dispatcher thread', async (t) => {
  // Its own database: the thread seals and opens secrets with the configured key.
  const own = await dispatchDb('sluice_dispatch_proxy_thread')
  t.teardown(() => own.drop())
  const rx = await httpsReceiver(
    (req, res) => void req.resume().on('end', () => res.end()),
    ca.serverCert('127.0.0.1'),
  )
  t.teardown(() => rx.close())
  const proxy = await proxyFor(t, { credentials: 'u:p' })
  const key = randomBytes(32)
  const config = loadConfig({
    DATABASE_URL: own.url,
    SLUICE_SECRET_KEY: key.toString('base64'),
    SLUICE_OUTBOUND_ALLOW: '127.0.0.1',
    SLUICE_OUTBOUND_PROXY: proxy.url('u:p'),
    SLUICE_OUTBOUND_NO_PROXY: 'elsewhere.example',
    SLUICE_OUTBOUND_CA_FILE: ca.caFile,
  })
  const url = `https://127.0.0.1:${rx.port}/`
  await upsertSubscription(own.pool, new SecretBox(key), { url }, generateSecret)
  const thread = dispatcherThread(
    config,
    { url: own.url, embedded: false },
    pino({ level: 'silent' }),
  )
  t.teardown(() => thread.close())
  thread.start()
  await own.store([{ id: 'th1' }])
  const attempts = () =>
    own.pool.query<{ error: string | null; status: string }>(
      'SELECT a.error, d.status FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id',
    )
  await until('attempted by the thread', async () => (await attempts()).rowCount === 1, 30_000)
  t.same(
    (await attempts()).rows,
    [{ error: null, status: 'succeeded' }],
    'trusted through the CA file',
  )
  t.same(
    proxy.asked.map((a) => `${a.method} ${a.target} ${a.headers['proxy-authorization']}`),
    [`CONNECT 127.0.0.1:${rx.port} Basic ${btoa('u:p')}`],
    'through the configured proxy, with its credentials',
  )
})

failOnLeaks(t, { closeFirst: () => db.drop() })
