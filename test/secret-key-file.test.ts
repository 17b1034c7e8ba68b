import t, { type Test } from 'tap'
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadSecretKey } from '../src/util/secret-box.js'
import { ConfigError } from '../src/config.js'
import { JOURNAL_ONLY_ENV, collect, spawnSluice } from './helpers/spawn.js'

const KEY = randomBytes(32)

function dataDirWithKey(t: Test, mode: number): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-secret-key-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'secret-key')
  writeFileSync(path, `${KEY.toString('base64')}\n`)
  chmodSync(path, mode) // explicit: writeFileSync's mode is filtered by the umask
  return { dir, path }
}

// The same rule as the admin token's, but deleting is no way out: the key opens every stored
// subscription secret, so the message must not suggest it.
t.test(
  'an existing secret-key readable by group or others is refused, and left as it is',
  async (t) => {
    for (const mode of [0o644, 0o640, 0o604]) {
      const { dir, path } = dataDirWithKey(t, mode)
      const err = (() => {
        try {
          loadSecretKey(undefined, dir)
          return null
        } catch (e) {
          return e as Error
        }
      })()
      t.ok(err instanceof ConfigError, `0${mode.toString(8)}: refused (${String(err)})`)
      t.match(err?.message, `chmod 600 ${path}`, 'the message names the file and the fix')
      t.notMatch(err?.message, /delete/, 'and never suggests deleting the key')
      t.equal(statSync(path).mode & 0o777, mode, 'the file is left as it was')
    }
  },
)

t.test('a secret-key of mode 0600 or 0400 is used', async (t) => {
  for (const mode of [0o600, 0o400]) {
    const { dir } = dataDirWithKey(t, mode)
    t.same(loadSecretKey(undefined, dir).key, KEY)
  }
})

t.test('SLUICE_SECRET_KEY set: the file is not read, whatever its mode', async (t) => {
  const { dir } = dataDirWithKey(t, 0o644)
  const configured = randomBytes(32)
  t.same(loadSecretKey(configured, dir).key, configured)
})

t.test('sluice start with an exposed secret-key exits 2 naming the file', async (t) => {
  const { dir, path } = dataDirWithKey(t, 0o644)
  const r = await collect(
    spawnSluice(['start'], {
      ...JOURNAL_ONLY_ENV,
      PORT: '0',
      SLUICE_ADMIN_PORT: '0',
      SLUICE_DATA_DIR: dir,
    }),
  )
  t.equal(r.code, 2, 'exit 2, a configuration error')
  t.match(r.stdout + r.stderr, path)
  t.match(r.stdout + r.stderr, '"code":"config_invalid"')
})
