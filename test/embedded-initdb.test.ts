import t from 'tap'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initdbInProcess, needsInitdb } from '../src/db/embedded-memory.js'

// The first start's initdb runs in a child process (src/db/embedded-memory.ts says why); it
// resolves when that process has exited, so a child that never ends would hang this test.
t.test('initdb in a child process, into a directory of its own moved into place', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-initdb-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const dir = join(root, 'pg')
  // What a start stopped mid-initialisation leaves: an empty target and a child's directory.
  mkdirSync(dir)
  mkdirSync(join(root, 'pg.initdb-1-2'))
  writeFileSync(join(root, 'pg.initdb-1-2', 'PG_VERSION'), '17\n')
  t.ok(needsInitdb(dir), 'no database yet')
  await initdbInProcess(dir)
  t.notOk(needsInitdb(dir), 'the directory holds a database')
  t.ok(existsSync(join(dir, 'postgresql.conf')), 'with its configuration')
  t.same(readdirSync(root), ['pg'], "the stale child's directory is gone, no other is left")
})
