import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { EngineChild } from './helpers/engine-child.js'
import { postMany } from './helpers/post.js'
import { until } from './helpers/wait.js'

/**
 * A stop that arrives while the embedded database (PGlite) initialises its directory for the
 * first time: the stop does not wait for the initialisation (it took over 10 s on a loaded
 * machine, past the shutdown bound), and the next start still comes up on that directory with
 * every event acknowledged before the stop.
 */
t.test('SIGTERM during the embedded database first start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-first-start-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env = {
    SLUICE_DATA_DIR: dir,
    SLUICE_ADMIN_PORT: '0',
    // Embedded defaults: no database or broker configured, whatever this shell has.
    DATABASE_URL: undefined,
    SLUICE_BROKER: undefined,
  }
  const first = new EngineChild(env)
  t.teardown(() => first.kill9())
  await first.start()
  // HTTP is up before the database: events are acknowledged from the journal meanwhile.
  const acked = await postMany({ url: () => first.url, count: 20, concurrency: 4, idPrefix: 'fs' })
  t.equal(acked.size, 20, 'events are acknowledged while the database starts')
  t.notMatch(first.logTail(), /PGlite\) started/, 'the stop comes before the database is up')
  const code = await first.stop()
  if (code !== 0) t.comment(first.logTail())
  t.equal(code, 0, 'a clean stop, not the forced exit at the bound')
  t.match(first.logTail(), /"msg":"stopped"/, 'it says it stopped')
  t.notMatch(
    first.logTail(),
    /PGlite\) started/,
    'the database start was abandoned, not waited for',
  )
  t.notMatch(first.logTail(), /not available yet; retrying/, 'the abandoned start is not a failure')

  const second = new EngineChild(env)
  t.teardown(() => second.kill9())
  await second.start()
  let url = ''
  await until(
    'the embedded database is up on the same directory',
    () => {
      const m = /"url":"(postgres:\/\/[^"]+)","msg":"embedded PostgreSQL \(PGlite\) started"/.exec(
        second.logTail(),
      )
      url = m?.[1] ?? ''
      return url !== ''
    },
    120_000,
    100,
  )
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  let stored: string[] = []
  await until(
    'every acknowledged event is stored',
    async () => {
      // Until the migrations ran, there is no events table to read.
      const r = await pool.query<{ id: string }>('SELECT id FROM events').catch(() => null)
      stored = r?.rows.map((row) => row.id) ?? []
      return stored.length >= acked.size
    },
    120_000,
    200,
  )
  t.same(stored.sort(), [...acked].sort(), 'each acknowledged event stored once, none other')
  await pool.end()
  const secondCode = await second.stop()
  if (secondCode !== 0) t.comment(second.logTail())
  t.equal(secondCode, 0, 'the second engine stops cleanly')
})
