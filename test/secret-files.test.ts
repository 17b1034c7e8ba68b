import t from 'tap'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config.js'
import { FILE_VARIABLES } from '../src/config-files.js'
import { configSummary } from '../src/config-summary.js'

const dir = mkdtempSync(join(tmpdir(), 'sluice-secret-files-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
function file(content: string): string {
  const path = join(dir, `secret-${++n}`)
  writeFileSync(path, content, { mode: 0o600 })
  return path
}

const KEY = 'a'.repeat(64)
const TOKEN = 'tok-0123456789abcdef'

t.test('each *_FILE variable gives its variable the file contents, newline trimmed', async (t) => {
  const config = loadConfig({
    DATABASE_URL_FILE: file('postgres://app:s3cret@db:5432/sluice\n'),
    AMQP_URL_FILE: file('amqps://u:p@mq:5671/vhost\r\n'),
    SLUICE_ADMIN_TOKEN_FILE: file(`${TOKEN},${TOKEN}-2\n`),
    SLUICE_SECRET_KEY_FILE: file(KEY),
  })
  t.equal(config.DATABASE_URL, 'postgres://app:s3cret@db:5432/sluice')
  t.equal(config.AMQP_URL, 'amqps://u:p@mq:5671/vhost', 'a CRLF ending is trimmed too')
  t.same(config.SLUICE_ADMIN_TOKEN, [TOKEN, `${TOKEN}-2`], 'parsed like the variable itself')
  t.equal(config.SLUICE_SECRET_KEY?.length, 32)
  t.notOk('DATABASE_URL_FILE' in config, 'the _FILE names are not config entries of their own')
  const summary = JSON.stringify(configSummary(config))
  t.notMatch(summary, /s3cret|tok-0123/, 'the start-up summary still redacts file secrets')
  t.same([...FILE_VARIABLES].sort(), [
    'AMQP_URL',
    'DATABASE_URL',
    'SLUICE_ADMIN_TOKEN',
    'SLUICE_SECRET_KEY',
  ])
})

t.test('only one trailing newline goes; inner whitespace is the secret', async (t) => {
  const config = loadConfig({ SLUICE_ADMIN_TOKEN_FILE: file(`${TOKEN}\n\n`) })
  // One newline is trimmed, the second stays; the token list parser then trims around commas.
  t.same(config.SLUICE_ADMIN_TOKEN, [TOKEN])
})

t.test('X and X_FILE both set is a config error naming both', async (t) => {
  for (const name of FILE_VARIABLES) {
    const env = { [name]: 'x', [`${name}_FILE`]: file('y') }
    t.throws(() => loadConfig(env), {
      name: 'ConfigError',
      message: new RegExp(`${name} and ${name}_FILE are both set`),
    })
  }
})

t.test('a missing or unreadable file is a config error naming variable and path', async (t) => {
  const missing = join(dir, 'nope')
  t.throws(() => loadConfig({ DATABASE_URL_FILE: missing }), {
    name: 'ConfigError',
    message: `DATABASE_URL_FILE: cannot read ${missing} (no such file)`,
  })
  t.throws(() => loadConfig({ SLUICE_ADMIN_TOKEN_FILE: dir }), {
    message: new RegExp(`SLUICE_ADMIN_TOKEN_FILE: cannot read ${dir} \\(EISDIR\\)`),
  })
  if (userInfo().uid !== 0) {
    // root reads any file, so an unreadable one exists only for other users.
    const locked = file(KEY)
    chmodSync(locked, 0o000)
    t.throws(() => loadConfig({ SLUICE_SECRET_KEY_FILE: locked }), {
      message: `SLUICE_SECRET_KEY_FILE: cannot read ${locked} (permission denied)`,
    })
  }
})

t.test(
  'a file whose contents are invalid is refused as the variable, naming the file',
  async (t) => {
    const path = file('mysql://nope\n')
    const err = (() => {
      try {
        loadConfig({ DATABASE_URL_FILE: path, SLUICE_ADMIN_TOKEN_FILE: join(dir, 'gone') })
      } catch (e) {
        return e
      }
      return null
    })()
    t.ok(err instanceof ConfigError)
    const message = (err as Error).message
    t.match(
      message,
      `DATABASE_URL must be a postgres:// or postgresql:// URL (read from DATABASE_URL_FILE=${path})`,
    )
    t.match(message, 'SLUICE_ADMIN_TOKEN_FILE: cannot read', 'every problem is reported at once')
  },
)

t.test('an empty X_FILE counts as unset, as every blank variable does', async (t) => {
  const config = loadConfig({ DATABASE_URL_FILE: '' })
  t.equal(config.DATABASE_URL, undefined)
})

function sources(secret: unknown): string {
  const path = join(dir, `sources-${++n}.json`)
  writeFileSync(path, JSON.stringify({ sources: { gh: { verify: { type: 'github', secret } } } }))
  return path
}

t.test('a source secret { "file": path } reads the file, beside strings and { env }', async (t) => {
  const SLUICE_CONFIG = sources([{ file: file('from-file\n') }, { env: 'GH_SECRET' }, 'inline'])
  const config = loadConfig({ SLUICE_CONFIG, GH_SECRET: 'from-env' })
  const verify = config.sources.gh?.verify
  t.same(verify?.secret, ['from-file', 'from-env', 'inline'])
})

t.test('a source secret file that is missing or empty is refused naming the path', async (t) => {
  const missing = join(dir, 'absent-secret')
  t.throws(() => loadConfig({ SLUICE_CONFIG: sources({ file: missing }) }), {
    name: 'ConfigError',
    message: new RegExp(
      `sources\\.gh\\.verify\\.secret: cannot read ${missing} \\(no such file\\) \\(named by a secret's "file"\\)`,
    ),
  })
  const empty = file('\n')
  t.throws(() => loadConfig({ SLUICE_CONFIG: sources({ file: empty }) }), {
    message: new RegExp(`${empty} is empty`),
  })
  t.throws(() => loadConfig({ SLUICE_CONFIG: sources({ file: empty, env: 'X' }) }), {
    message: /a secret is a non-empty string or \{ "env": "NAME" \} or \{ "file": "\/path" \}/,
  })
})
