import t, { type Test } from 'tap'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config.js'
import { configSummary } from '../src/config-summary.js'
import { bypassesProxy, parseNoProxy, parseProxyUrl } from '../src/outbound/proxy-config.js'
import { testCa } from './helpers/test-ca.js'

const dir = mkdtempSync(join(tmpdir(), 'sluice-proxy-config-'))
const ca = testCa()
t.teardown(() => {
  rmSync(dir, { recursive: true, force: true })
  ca.remove()
})
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const invalid = (t: Test, env: NodeJS.ProcessEnv, message: RegExp) =>
  t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))

t.test('SLUICE_OUTBOUND_PROXY: accepted, and what is sent to the proxy', async (t) => {
  t.equal(loadConfig({}).SLUICE_OUTBOUND_PROXY, undefined, 'unset: direct')
  const config = loadConfig({ SLUICE_OUTBOUND_PROXY: 'http://proxy.corp:3128' })
  t.equal(config.SLUICE_OUTBOUND_PROXY, 'http://proxy.corp:3128')
  t.same(parseProxyUrl('http://proxy.corp:3128'), {
    host: 'proxy.corp',
    port: 3128,
    origin: 'http://proxy.corp:3128',
  })
  t.same(parseProxyUrl('http://10.1.2.3:80/'), {
    host: '10.1.2.3',
    port: 80,
    origin: 'http://10.1.2.3',
  })
  t.match(parseProxyUrl('http://[fd00::1]:8080'), { host: 'fd00::1', port: 8080 })
  t.equal(
    parseProxyUrl('http://svc%40corp:p%3Ass@proxy:3128').authorization,
    `Basic ${Buffer.from('svc@corp:p:ss').toString('base64')}`,
    'credentials %-decoded, then Basic',
  )
})

t.test(
  'SLUICE_OUTBOUND_PROXY: errors name the variable, the shape, and never the password',
  async (t) => {
    const cases: [string, RegExp][] = [
      ['proxy.corp:3128', /the scheme \(http:\/\/\) is missing/],
      ['http://', /the value does not parse as a URL/],
      ['https://proxy.corp:3128', /https:\/\/ proxies \(TLS to the proxy\) are not supported/],
      ['socks5://proxy.corp:1080', /the scheme is socks5/],
      ['http://proxy.corp', /the port is missing/],
      ['http://user:secret@proxy.corp', /the port is missing/],
      ['http://proxy.corp:3128/path', /a path, query or fragment is not allowed/],
      ['http://proxy.corp:3128?x=1', /a path, query or fragment is not allowed/],
      ['http://us%zzer:secret@proxy.corp:3128', /the user or password has a malformed %-escape/],
    ]
    for (const [value, why] of cases) {
      const err = t.throws(() => loadConfig({ SLUICE_OUTBOUND_PROXY: value })) as Error
      t.ok(err instanceof ConfigError, value)
      t.match(
        err.message,
        new RegExp(`SLUICE_OUTBOUND_PROXY must be http://\\[user:pass@\\]host:port: ${why.source}`),
        value,
      )
      t.notMatch(err.message, /secret/, 'the password is not echoed')
    }
  },
)

t.test('SLUICE_OUTBOUND_NO_PROXY: entries and what they match', async (t) => {
  t.same(loadConfig({}).SLUICE_OUTBOUND_NO_PROXY, [])
  const list =
    ' receiver.internal, .corp.example ,*.shop.example, 10.0.0.0/8,fd00::/8, [::1],192.168.1.20,'
  t.same(loadConfig({ SLUICE_OUTBOUND_NO_PROXY: list }).SLUICE_OUTBOUND_NO_PROXY, [
    'receiver.internal',
    '.corp.example',
    '*.shop.example',
    '10.0.0.0/8',
    'fd00::/8',
    '[::1]',
    '192.168.1.20',
  ])
  const rules = parseNoProxy(list)
  const direct = [
    'receiver.internal',
    'RECEIVER.internal.',
    'corp.example',
    'a.b.corp.example',
    'x.shop.example',
    '10.20.30.40',
    '[fd00::5]',
    '[::1]',
    '192.168.1.20',
  ]
  const proxied = [
    'a.receiver.internal',
    'receiver.internal.evil',
    'notcorp.example',
    'corp.example.evil',
    '11.0.0.1',
    '192.168.1.21',
    '[fe80::1]',
    // A name is matched as a name: no DNS before the decision, so no CIDR matches it.
    'localhost',
  ]
  for (const host of direct) t.ok(bypassesProxy(rules, host), `${host} goes direct`)
  for (const host of proxied) t.notOk(bypassesProxy(rules, host), `${host} goes through the proxy`)
  t.ok(bypassesProxy(parseNoProxy('*'), 'anything.example'), '* is every destination')
  t.notOk(bypassesProxy(parseNoProxy(''), 'anything.example'), 'empty is none')
})

t.test('SLUICE_OUTBOUND_NO_PROXY: errors name the variable and the entry', async (t) => {
  const expected = (entry: string, why = '') =>
    new RegExp(
      `SLUICE_OUTBOUND_NO_PROXY: '${entry.replace(/[./:]/g, '\\$&')}' is not a host name, ` +
        `\\.domain, address or CIDR${why}; expected comma-separated entries such as`,
    )
  invalid(
    t,
    { SLUICE_OUTBOUND_NO_PROXY: 'ok.example, proxy.corp:8080' },
    expected('proxy.corp:8080', ' \\(ports are not supported\\)'),
  )
  for (const entry of ['has space', '10.0.0.0/99', '300.1.1.1', 'http://x.example', '.']) {
    invalid(t, { SLUICE_OUTBOUND_NO_PROXY: `ok.example, ${entry}` }, expected(entry))
  }
})

t.test('SLUICE_OUTBOUND_CA_FILE: read once at start-up, checked', async (t) => {
  const config = loadConfig({ SLUICE_OUTBOUND_CA_FILE: ca.caFile })
  t.match(config.outboundCa, /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----$/)
  const bundle = file(
    'bundle.pem',
    `# internal roots\n${config.outboundCa}\n\n${config.outboundCa}\n`,
  )
  const two = loadConfig({ SLUICE_OUTBOUND_CA_FILE: bundle }).outboundCa ?? ''
  t.equal(two.match(/BEGIN CERTIFICATE/g)?.length, 2, 'a bundle of several')
  t.equal(loadConfig({}).outboundCa, undefined)

  invalid(
    t,
    { SLUICE_OUTBOUND_CA_FILE: join(dir, 'missing.pem') },
    /^SLUICE_OUTBOUND_CA_FILE: cannot read .*missing\.pem \(no such file\)$/,
  )
  invalid(
    t,
    { SLUICE_OUTBOUND_CA_FILE: dir },
    /^SLUICE_OUTBOUND_CA_FILE: cannot read .* \(EISDIR\)$/,
  )
  invalid(
    t,
    { SLUICE_OUTBOUND_CA_FILE: file('empty.pem', 'not a certificate\n') },
    /^SLUICE_OUTBOUND_CA_FILE: .*empty\.pem holds no PEM certificate/,
  )
  const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'
  invalid(
    t,
    { SLUICE_OUTBOUND_CA_FILE: file('broken.pem', `${config.outboundCa}\n${broken}`) },
    /^SLUICE_OUTBOUND_CA_FILE: certificate 2 of .*broken\.pem does not parse/,
  )
  if (process.getuid?.() !== 0) {
    const locked = file('locked.pem', config.outboundCa ?? '')
    chmodSync(locked, 0o000)
    invalid(
      t,
      { SLUICE_OUTBOUND_CA_FILE: locked },
      /cannot read .*locked\.pem \(permission denied\)/,
    )
  }
})

t.test('the start-up summary: no proxy password, the CA path and not its contents', async (t) => {
  const config = loadConfig({
    SLUICE_OUTBOUND_PROXY: 'http://sluice:hunter2@proxy.corp:3128',
    SLUICE_OUTBOUND_NO_PROXY: '.corp.example',
    SLUICE_OUTBOUND_CA_FILE: ca.caFile,
  })
  const summary = configSummary(config)
  t.equal(summary.SLUICE_OUTBOUND_PROXY, 'http://sluice:redacted@proxy.corp:3128/')
  t.same(summary.SLUICE_OUTBOUND_NO_PROXY, ['.corp.example'])
  t.equal(summary.SLUICE_OUTBOUND_CA_FILE, ca.caFile)
  t.notMatch(JSON.stringify(summary), /hunter2|BEGIN CERTIFICATE/)
  // A token as the user, and blanks around the value (which the parser trims): hidden too.
  for (const proxy of ['http://tok3n@proxy.corp:3128', ' http://u:hunter2@proxy.corp:3128 ']) {
    const shown = configSummary(loadConfig({ SLUICE_OUTBOUND_PROXY: proxy }))
    t.notMatch(String(shown.SLUICE_OUTBOUND_PROXY), /tok3n|hunter2/, `${proxy.trim()} redacted`)
  }
})
