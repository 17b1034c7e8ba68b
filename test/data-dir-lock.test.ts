import t, { type Test } from 'tap'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataDirLockedError, lockDataDir } from '../src/data-dir-lock.js'
import { EngineChild } from './helpers/engine-child.js'
import { freshDatabase } from './helpers/pg.js'
import { JOURNAL_ONLY_ENV, collect, spawnSluice } from './helpers/spawn.js'
import { failOnLeaks } from './helpers/leaks.js'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lock-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** An engine child that holds `dir`; killed at teardown if the test did not stop it. */
async function engineOn(t: Test, dir: string): Promise<{ engine: EngineChild; pid: number }> {
  const engine = new EngineChild({ ...JOURNAL_ONLY_ENV, SLUICE_DATA_DIR: dir })
  t.teardown(() => engine.kill9())
  await engine.start()
  return { engine, pid: engine.child!.pid! }
}

t.test('a second lock in the same process fails naming the holder; release frees it', (t) => {
  const dir = tempDir(t)
  const lock = lockDataDir(dir, 'sluice test')
  const err = t.throws(() => lockDataDir(dir, 'second')) as DataDirLockedError
  t.ok(err instanceof DataDirLockedError)
  t.equal(err.code, 'data_dir_locked')
  t.match(err.message, `pid ${process.pid} (sluice test, since `)
  t.match(err.message, 'stop that one first')
  // The failed attempt closed its own handle; SQLite keeps the holder's lock through that.
  t.throws(() => lockDataDir(dir, 'third'), DataDirLockedError, 'still held after it')
  lock.release()
  lock.release() // idempotent
  const again = lockDataDir(dir, 'fourth')
  t.pass('taken again after release')
  again.release()
  t.end()
})

t.test('while sluice start runs, nothing else opens its data directory', async (t) => {
  const dir = tempDir(t)
  const { pid } = await engineOn(t, dir)
  const holder = `in use by pid ${pid} (sluice start, since `

  // Embedded migrate would open a second Postgres on <dir>/pg: refused before touching it.
  const migrate = await collect(
    spawnSluice(['migrate'], { SLUICE_DATA_DIR: dir, DATABASE_URL: '' }),
  )
  t.equal(migrate.code, 1, 'sluice migrate exits 1')
  t.match(migrate.stderr, holder, 'naming the engine')
  t.notOk(existsSync(join(dir, 'pg')), 'data/pg was not created')

  const second = await collect(
    spawnSluice(['start'], { ...JOURNAL_ONLY_ENV, SLUICE_DATA_DIR: dir }),
  )
  t.equal(second.code, 1, 'a second sluice start exits 1')
  t.match(second.stdout, holder)

  const err = t.throws(() => lockDataDir(dir, 'test')) as DataDirLockedError
  t.match(err.message, holder, 'and so does a lock from here')

  // With DATABASE_URL the data directory is not used: nodes migrate one database together.
  const db = await freshDatabase('sluice_lock_migrate')
  t.teardown(() => db.drop())
  const shared = await collect(
    spawnSluice(['migrate'], { SLUICE_DATA_DIR: dir, DATABASE_URL: db.url }),
  )
  t.equal(shared.code, 0, `migrate with DATABASE_URL is not blocked (${shared.stderr})`)
})

t.test('kill -9 of the holder frees the directory: a new start succeeds', async (t) => {
  const dir = tempDir(t)
  const first = await engineOn(t, dir)
  await first.engine.kill9()
  const second = await engineOn(t, dir)
  t.not(second.pid, first.pid)
  t.ok(second.engine.port > 0, 'the restarted engine listens')
  t.equal(await second.engine.stop(), 0, 'and stops gracefully')
  const lock = lockDataDir(dir, 'test')
  t.pass('a graceful stop released it too')
  lock.release()
})

failOnLeaks(t)
