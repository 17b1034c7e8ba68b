import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config.js'
import { buildSources } from '../src/sources/index.js'
import { failOnLeaks } from './helpers/leaks.js'

const dir = mkdtempSync(join(tmpdir(), 'sluice-sources-config-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
function configFile(content: unknown): string {
  const path = join(dir, `sources-${++n}.json`)
  writeFileSync(path, JSON.stringify(content))
  return path
}

t.test(
  'a secret naming a missing environment variable stops start-up with a clear message',
  async (t) => {
    const SLUICE_CONFIG = configFile({
      sources: {
        gh: { verify: { type: 'github', secret: { env: 'SLUICE_TEST_GH_SECRET_UNSET' } } },
      },
    })
    t.throws(() => loadConfig({ SLUICE_CONFIG }), {
      name: 'ConfigError',
      message:
        /sources\.gh\.verify\.secret: environment variable SLUICE_TEST_GH_SECRET_UNSET is not set/,
    })
    const err = (() => {
      try {
        loadConfig({ SLUICE_CONFIG })
      } catch (e) {
        return e
      }
      return null
    })()
    t.ok(err instanceof ConfigError)
    t.match((err as Error).message, SLUICE_CONFIG, 'names the file')
    // An empty variable counts as missing, as for every other setting.
    t.throws(() => loadConfig({ SLUICE_CONFIG, SLUICE_TEST_GH_SECRET_UNSET: '' }), {
      message: /SLUICE_TEST_GH_SECRET_UNSET is not set/,
    })
  },
)

t.test("no source may be called sluice: its events are Sluice's own", async (t) => {
  const SLUICE_CONFIG = configFile({ sources: { sluice: {} } })
  t.throws(() => loadConfig({ SLUICE_CONFIG }), {
    name: 'ConfigError',
    message: /sources\.sluice: 'sluice' is the source of Sluice's own operational events/,
  })
})

t.test('an empty or malformed secret is refused with what a secret may be', async (t) => {
  const cases: [unknown, RegExp][] = [
    ['', /sources\.gh\.verify\.secret: a secret must not be empty/],
    [[], /sources\.gh\.verify\.secret: a list of secrets must not be empty/],
    [[{ env: 'X', extra: 1 }], /sources\.gh\.verify\.secret\.0: Unrecognized key: "extra"/],
    [42, /sources\.gh\.verify\.secret: a secret is a non-empty string or \{ "env": "NAME" \}/],
  ]
  for (const [secret, message] of cases) {
    const SLUICE_CONFIG = configFile({ sources: { gh: { verify: { type: 'github', secret } } } })
    t.throws(() => loadConfig({ SLUICE_CONFIG }), { message }, JSON.stringify(secret))
  }
})

t.test('secrets from the environment, in a rotation list, are resolved', async (t) => {
  const SLUICE_CONFIG = configFile({
    sources: {
      gh: { verify: { type: 'github', secret: [{ env: 'GH_OLD' }, 'inline-new'] } },
      open: {},
    },
  })
  const config = loadConfig({ SLUICE_CONFIG, GH_OLD: 'from-the-env' })
  t.same(config.sources.gh?.verify, { type: 'github', secret: ['from-the-env', 'inline-new'] })
  t.same(Object.keys(config.sources).sort(), ['default', 'gh', 'open'])
  const sources = buildSources(config.sources)
  t.same([...sources.keys()].sort(), ['default', 'gh', 'open'])
  t.same(sources.get('open')?.verify({ headers: {}, body: Buffer.from('x') }), {
    ok: true,
    verifiedBy: null,
  })
  t.equal(sources.get('default')?.admit('127.0.0.1'), null)
  t.notMatch(
    JSON.stringify([...sources.values()]),
    /from-the-env|inline-new/,
    'no secret on the objects',
  )
})

t.test('errors in a config with secrets never echo the secrets', async (t) => {
  const SLUICE_CONFIG = configFile({
    sources: {
      custom: {
        verify: { type: 'hmac', header: 'X-Sig', algorithm: 'md5', secret: 'inline-secret-value' },
      },
      acme: { verify: { type: 'standard-webhooks', secret: { env: 'ACME_SECRET' } }, extra: true },
    },
  })
  let message = ''
  try {
    loadConfig({ SLUICE_CONFIG, ACME_SECRET: 'whsec_ZW52LXNlY3JldC12YWx1ZQ==' })
  } catch (err) {
    message = (err as Error).message
  }
  t.match(message, /sources\.custom\.verify\.algorithm/)
  t.match(message, /sources\.acme/)
  t.notMatch(message, /inline-secret-value|ZW52LXNlY3JldC12YWx1ZQ/)
})

t.test('a rejection message carries only header names and reasons', async (t) => {
  const SLUICE_CONFIG = configFile({
    sources: { gh: { verify: { type: 'github', secret: { env: 'GH_SECRET' } } } },
  })
  const gh = buildSources(loadConfig({ SLUICE_CONFIG, GH_SECRET: 'hunter2-secret' }).sources).get(
    'gh',
  )
  const result = gh?.verify({
    headers: { 'x-hub-signature-256': 'sha256=00' },
    body: Buffer.from('{}'),
  })
  t.match(result, { ok: false, code: 'signature_mismatch', message: /X-Hub-Signature-256/ })
  t.notMatch(JSON.stringify(result), /hunter2/)
})

t.test('buildSources checks its options', async (t) => {
  t.throws(
    () => buildSources({}, { now: 5 as unknown as () => number }),
    new TypeError('options.now must be a function'),
  )
})

failOnLeaks(t)
