import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { pino } from 'pino'
import { LocalBroker } from '../src/brokers/index.js'
import { migrate, readMigrations } from '../src/db/migrate.js'
import { recordFailure } from '../src/db/failures.js'
import { freshDatabase } from './helpers/pg.js'
import { collect, spawnSluice } from './helpers/spawn.js'
import { failOnLeaks } from './helpers/leaks.js'

const logger = pino({ level: 'silent' })

const run = collect

t.test(
  'two `sluice migrate` processes at once: both exit 0, each version applied once',
  async (t) => {
    const db = await freshDatabase('sluice_cli_migrate')
    t.teardown(() => db.drop())
    // Two processes, so the database's advisory lock (not an in-process queue) serialises them.
    const [a, b] = await Promise.all([
      collect(spawnSluice(['migrate'], { DATABASE_URL: db.url })),
      collect(spawnSluice(['migrate'], { DATABASE_URL: db.url })),
    ])
    t.equal(a.code, 0, a.stderr)
    t.equal(b.code, 0, b.stderr)
    const pool = new pg.Pool({ connectionString: db.url, max: 1 })
    t.teardown(() => pool.end())
    const { rows } = await pool.query(
      'SELECT count(*)::int AS n, count(DISTINCT version)::int AS d FROM sluice_migrations',
    )
    t.equal(rows[0].n, readMigrations().length, 'one ledger row per migration')
    t.equal(rows[0].d, rows[0].n)
    const events = await pool.query("SELECT to_regclass('events') IS NOT NULL AS ok")
    t.equal(events.rows[0].ok, true, 'the events table exists')
  },
)

t.test('sluice dlq list and redrive on the local broker', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-dlq-'))
  const db = await freshDatabase('sluice_cli_dlq')
  t.teardown(async () => {
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await migrate(db.url)
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  t.teardown(() => pool.end())
  await recordFailure(pool, [{ source: 'default', id: 'dead-1', error: 'boom from the worker' }])

  // Dead-letter one event the way the consumer does.
  const broker = new LocalBroker({ dataDir: dir, pollIntervalMs: 20 }, logger)
  await broker.start()
  await broker.publish([
    {
      id: 'dead-1',
      source: 'default',
      receivedAt: Date.now(),
      contentType: 'text/plain',
      headers: {},
      body: Buffer.from('payload'),
      verifiedBy: null,
    },
  ])
  await new Promise<void>((resolve) => {
    void broker.subscribe((d) => void d.deadLetter('gave up: boom').then(() => resolve()), {
      prefetch: 1,
    })
  })
  await broker.close()

  const env = { SLUICE_DATA_DIR: dir, DATABASE_URL: db.url }
  const list = await run(spawnSluice(['dlq', 'list'], env))
  t.equal(list.code, 0, list.stderr)
  const lines = list.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  t.equal(lines.length, 1)
  t.match(lines[0], {
    id: 'dead-1',
    source: 'default',
    lastError: 'gave up: boom',
    recordedFailures: 1,
    recordedError: 'boom from the worker',
    bytes: 7,
  })

  const wrong = await run(spawnSluice(['dlq', 'redrive', '--id', 'nope'], env))
  t.equal(wrong.code, 1, 'redrive of an unknown id exits 1')
  t.match(wrong.stdout, /redrove 0 events/)
  const redrive = await run(spawnSluice(['dlq', 'redrive', '--id', 'dead-1'], env))
  t.equal(redrive.code, 0, redrive.stderr)
  t.match(redrive.stdout, /redrove 1 event with id dead-1/)
  const after = await run(spawnSluice(['dlq', 'list'], env))
  t.match(after.stdout, /no dead-lettered events/)

  const usage = await run(spawnSluice(['dlq', 'frob'], env))
  t.equal(usage.code, 1)
  t.match(usage.stderr, /usage: sluice dlq list/)
})

failOnLeaks(t)
