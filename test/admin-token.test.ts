import t, { type Test } from 'tap'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadAdminTokens } from '../src/admin/auth.js'
import { ConfigError } from '../src/config.js'
import { JOURNAL_ONLY_ENV, collect, spawnSluice } from './helpers/spawn.js'

const TOKEN = 'token-file-0123456789abcdef'

function dataDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-admin-token-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function tokenFile(dir: string, mode: number, body = `${TOKEN}\n`): string {
  const path = join(dir, 'admin-token')
  writeFileSync(path, body)
  chmodSync(path, mode) // explicit: writeFileSync's mode is filtered by the umask
  return path
}

// Like ssh with a private key: a token group or others could read may already be known to them,
// so it is not used; the operator chooses between keeping it (chmod) and rotating it (delete).
for (const mode of [0o644, 0o640, 0o604, 0o660, 0o666, 0o610]) {
  t.test(`an existing token file with mode 0${mode.toString(8)} is refused`, async (t) => {
    const dir = dataDir(t)
    const path = tokenFile(dir, mode)
    const err = (() => {
      try {
        loadAdminTokens(undefined, dir)
        return null
      } catch (e) {
        return e as Error
      }
    })()
    t.ok(err instanceof ConfigError, `refused: ${String(err)}`)
    t.equal((err as ConfigError | null)?.code, 'config_invalid')
    t.match(err?.message, path, 'the message names the file')
    t.match(err?.message, `chmod 600 ${path}`, 'and the fix')
    t.equal(statSync(path).mode & 0o777, mode, 'the file is left as it was')
    t.equal(readFileSync(path, 'utf8'), `${TOKEN}\n`)
  })
}

t.test('a token file with mode 0600 or 0400 is used', async (t) => {
  for (const mode of [0o600, 0o400]) {
    const dir = dataDir(t)
    tokenFile(dir, mode)
    const { tokens, source } = loadAdminTokens(undefined, dir)
    t.same(tokens, [TOKEN])
    t.match(source, { from: 'file', created: false })
  }
})

t.test('SLUICE_ADMIN_TOKEN set: the file is not read, whatever its mode', async (t) => {
  const dir = dataDir(t)
  tokenFile(dir, 0o644)
  t.same(loadAdminTokens(['from-env-0123456789abcdef'], dir).tokens, ['from-env-0123456789abcdef'])
})

t.test('a too-short token file readable by others is replaced by a new one, 0600', async (t) => {
  const dir = dataDir(t)
  const path = tokenFile(dir, 0o644, 'short\n')
  const { tokens, source } = loadAdminTokens(undefined, dir)
  t.match(source, { from: 'file', created: true })
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.equal(readFileSync(path, 'utf8').trim(), tokens[0])
  t.ok((tokens[0] ?? '').length >= 32)
})

t.test('sluice start with an exposed admin-token exits 2 naming the file', async (t) => {
  const dir = dataDir(t)
  const path = tokenFile(dir, 0o644)
  const r = await collect(
    spawnSluice(['start'], {
      ...JOURNAL_ONLY_ENV,
      PORT: '0',
      SLUICE_ADMIN_PORT: '0',
      SLUICE_DATA_DIR: dir,
    }),
  )
  t.equal(r.code, 2, 'exit 2, a configuration error')
  t.match(r.stdout + r.stderr, `chmod 600 ${path}`)
  t.match(r.stdout + r.stderr, '"code":"config_invalid"')
})
