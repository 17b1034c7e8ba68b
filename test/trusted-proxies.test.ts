import t from 'tap'
import http from 'node:http'
import { loadConfig, ConfigError } from '../src/config.js'
import { ClientAddresses } from '../src/server/client-address.js'
import { buildSources } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'
import { startServer } from './helpers/http-server.js'
import { captureLogger } from './helpers/log-capture.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * SLUICE_TRUSTED_PROXIES: X-Forwarded-For names the client only when the TCP peer is a trusted
 * proxy, and then its right-most address that is not itself one; everyone else's is ignored.
 */
t.test('SLUICE_TRUSTED_PROXIES: default, lists, and an error naming the variable', async (t) => {
  t.same(loadConfig({}).SLUICE_TRUSTED_PROXIES, [], 'none by default')
  t.same(loadConfig({ SLUICE_TRUSTED_PROXIES: '' }).SLUICE_TRUSTED_PROXIES, [])
  t.same(
    loadConfig({ SLUICE_TRUSTED_PROXIES: ' 10.0.0.5, 10.1.0.0/16,fd00::/8,::1 ,' })
      .SLUICE_TRUSTED_PROXIES,
    ['10.0.0.5', '10.1.0.0/16', 'fd00::/8', '::1'],
  )
  for (const bad of ['proxy.internal', '10.0.0.0/33', 'fd00::/129', '10.0.0.1/', '10.0.0/8']) {
    t.throws(
      () => loadConfig({ SLUICE_TRUSTED_PROXIES: `10.0.0.1,${bad}` }),
      { name: 'ConfigError', message: /SLUICE_TRUSTED_PROXIES must be .* IP addresses or CIDRs/ },
      `'${bad}' is refused`,
    )
  }
  t.throws(
    () => loadConfig({ SLUICE_TRUSTED_PROXIES: 'proxy.internal' }),
    ConfigError,
    'a ConfigError (exit code 2)',
  )
  t.throws(
    () => loadConfig({ SLUICE_TRUSTED_PROXIES: 'proxy.internal' }),
    {
      message: /'proxy\.internal' is neither/,
    },
    'the bad entry is named',
  )
})

t.test('the client behind trusted proxies: the right-most untrusted hop', async (t) => {
  const c = new ClientAddresses(['10.0.0.0/8', '192.0.2.7', 'fd00::/8'])
  t.equal(c.resolve('10.1.2.3', '203.0.113.9'), '203.0.113.9', 'a trusted peer is believed')
  t.equal(c.resolve('198.51.100.1', '203.0.113.9'), '198.51.100.1', 'an untrusted one is not')
  t.equal(c.resolve('10.1.2.3', undefined), '10.1.2.3', 'no header: the peer')
  t.equal(
    c.resolve('10.1.2.3', '1.1.1.1, 203.0.113.9, 192.0.2.7, 10.9.9.9'),
    '203.0.113.9',
    'trusted hops are skipped from the right; what the client wrote on the left is not believed',
  )
  t.equal(c.resolve('10.1.2.3', '10.5.5.5, 10.6.6.6'), '10.5.5.5', 'all trusted: the farthest')
  t.equal(c.resolve('10.1.2.3', '203.0.113.9, garbage'), '10.1.2.3', 'garbage: the last proxy')
  t.equal(c.resolve('10.1.2.3', '203.0.113.9:4711'), '203.0.113.9', 'a port is dropped')
  t.equal(c.resolve('10.1.2.3', '[2001:db8::1]:443'), '2001:db8::1')
  t.equal(c.resolve('10.1.2.3', '2001:DB8:0:0::1'), '2001:db8::1', 'IPv6 in its short form')
  // uWS writes IPv6 peers out in full, IPv4 on a dual-stack socket mapped.
  const mapped = '0000:0000:0000:0000:0000:ffff:0a01:0203'
  t.equal(c.resolve(mapped, '203.0.113.9'), '203.0.113.9', 'a mapped IPv4 peer matches its CIDR')
  t.equal(c.resolve(mapped, undefined), '10.1.2.3', 'and is shown as IPv4')
  const v6 = 'fd12:0000:0000:0000:0000:0000:0000:0001'
  t.equal(c.resolve(v6, '2001:db8::5'), '2001:db8::5', 'an IPv6 CIDR')
  t.equal(c.resolve('0000:0000:0000:0000:0000:0000:0000:0001', '203.0.113.9'), '::1', '::1 is not')

  const none = new ClientAddresses([])
  t.equal(none.resolve('10.1.2.3', '203.0.113.9'), '10.1.2.3', 'no trusted proxies: the peer')
  t.throws(() => new ClientAddresses(['nope']), TypeError)
})

const perClientSources = () =>
  buildSources(
    sourcesFileSchema({}).parse({
      sources: { pc: { rateLimit: { perSecond: 0.01, burst: 1, perClient: true } } },
    }).sources,
  )

/** POST from a chosen loopback address (the TCP peer the server sees) with these headers. */
function postFrom(localAddress: string, url: string, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', localAddress, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end('{}')
  })
}

t.test('perClient limits follow X-Forwarded-For from a trusted proxy only', async (t) => {
  const { logger, lines } = captureLogger()
  const { url } = await startServer(t, {
    sources: perClientSources(),
    trustedProxies: ['127.0.0.2'],
    logger,
  })
  const path = `${url}/webhook/pc`
  const xff = (v: string) => ({ 'x-forwarded-for': v })
  // Through the proxy (127.0.0.2): each forwarded client has its own bucket.
  t.equal(await postFrom('127.0.0.2', path, xff('203.0.113.5')), 200)
  t.equal(await postFrom('127.0.0.2', path, xff('203.0.113.5')), 429, 'that client is limited')
  t.equal(await postFrom('127.0.0.2', path, xff('203.0.113.6')), 200, 'another is not')
  t.equal(
    await postFrom('127.0.0.2', path, xff('198.51.100.1, 203.0.113.6')),
    429,
    'a client cannot escape its bucket by prepending an address',
  )
  t.equal(await postFrom('127.0.0.2', path, xff('203.0.113.7, 127.0.0.2')), 200, 'proxy chain')
  // Directly (127.0.0.1 is not trusted): the header is ignored, the peer is the client.
  t.equal(await postFrom('127.0.0.1', path, xff('203.0.113.8')), 200)
  t.equal(
    await postFrom('127.0.0.1', path, xff('203.0.113.9')),
    429,
    'a new X-Forwarded-For does not buy an untrusted peer a new bucket',
  )
  const refused = lines.filter((l) => l.code === 'rate_limited').map((l) => l.client)
  t.same(refused, ['203.0.113.5', '203.0.113.6', '127.0.0.1'], 'the log names the same client')
})

t.test('without trusted proxies X-Forwarded-For is ignored', async (t) => {
  const { url } = await startServer(t, { sources: perClientSources() })
  const path = `${url}/webhook/pc`
  t.equal(await postFrom('127.0.0.2', path, { 'x-forwarded-for': '203.0.113.5' }), 200)
  t.equal(await postFrom('127.0.0.2', path, { 'x-forwarded-for': '203.0.113.6' }), 429)
})

failOnLeaks(t)
