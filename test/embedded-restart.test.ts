import t from 'tap'
import pg from 'pg'
import pino from 'pino'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedPostgres } from '../src/db/embedded.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

// The embedded database's thread is supervised like every other thread (src/actors/thread-host.ts):
// one that dies is started again after the back-off, on the port the pools already know.

t.test('a dead embedded database thread comes back at the same URL', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-embedded-restart-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const lines: Array<{ msg?: string }> = []
  const logger = pino(
    { level: 'info' },
    {
      write: (l: string) => void lines.push(JSON.parse(l) as { msg?: string }),
    },
  )
  const embedded = await startEmbeddedPostgres({ dataDir, maxConnections: 4, logger })
  t.teardown(() => embedded.close())
  const pool = new pg.Pool({ connectionString: embedded.url, max: 1 })
  // The connection the crash cuts is replaced; its error is expected here.
  pool.on('error', () => {})
  t.teardown(() => pool.end())
  t.same((await pool.query<{ one: number }>('SELECT 1 AS one')).rows, [{ one: 1 }])

  await embedded.terminate()
  await until(
    'the restarted thread answers at the same URL',
    () =>
      pool.query<{ two: number }>('SELECT 2 AS two').then(
        (r) => r.rows[0]?.two === 2,
        () => false,
      ),
    120_000,
    200,
  )
  t.ok(
    lines.some((l) => /embedded database thread died.*restarting/.test(l.msg ?? '')),
    'the death and the restart are logged',
  )
  await embedded.close()
  await t.rejects(
    new pg.Client({ connectionString: embedded.url, connectionTimeoutMillis: 2000 }).connect(),
    'closed for good: nothing listens there any more',
  )
})

failOnLeaks(t)
