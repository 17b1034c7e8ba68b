import t from 'tap'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { migrate, readMigrations } from '../src/db/migrate.js'
import { writeDeadLetters } from '../src/db/dead-letters.js'
import { lockDataDir } from '../src/data-dir-lock.js'
import { freshDatabase } from './helpers/pg.js'
import { collect, spawnSluice } from './helpers/spawn.js'
import { failOnLeaks } from './helpers/leaks.js'

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
    const { rows } = await pool.query<{ n: number; d: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT version)::int AS d FROM sluice_migrations',
    )
    t.equal(rows[0]!.n, readMigrations().length, 'one ledger row per migration')
    t.equal(rows[0]!.d, rows[0]!.n)
    const events = await pool.query<{ ok: boolean }>(
      "SELECT to_regclass('events') IS NOT NULL AS ok",
    )
    t.equal(events.rows[0]!.ok, true, 'the events table exists')
  },
)

t.test('sluice dlq list and redrive read the Postgres dead-letter table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-dlq-'))
  const db = await freshDatabase('sluice_cli_dlq')
  t.teardown(async () => {
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await migrate(db.url)
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  t.teardown(() => pool.end())
  const event = (id: string, source = 'default') => ({
    id,
    source,
    receivedAt: Date.now(),
    contentType: 'text/plain',
    headers: { 'x-a': 'b' },
    body: Buffer.from('payload'),
    verifiedBy: null,
  })
  await writeDeadLetters(pool, [
    { event: event('dead-1'), reason: 'attempts_exhausted', attempts: 5, error: 'boom' },
    { event: event('dead-1', 'github'), reason: 'invalid_event', attempts: 1, error: '22P02' },
    { event: event('dead-2'), reason: 'undecodable_message', attempts: 1, error: 'not Sluice' },
  ])

  const env = { SLUICE_DATA_DIR: dir, DATABASE_URL: db.url }
  const list = await run(spawnSluice(['dlq', 'list'], env))
  t.equal(list.code, 0, list.stderr)
  const lines = list.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  t.equal(lines.length, 3, 'one JSON line per dead letter, nothing else')
  t.match(
    lines.find((l) => l.id === 'dead-1' && l.source === 'default'),
    { reason: 'attempts_exhausted', attempts: 5, lastError: 'boom', bytes: 7 },
  )
  const bySource = await run(spawnSluice(['dlq', 'list', '--source', 'github'], env))
  t.same(
    bySource.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id),
    ['dead-1'],
    '--source filters',
  )
  const limited = await run(spawnSluice(['dlq', 'list', '--limit', '1'], env))
  t.equal(limited.stdout.trim().split('\n').length, 1, '--limit')

  const wrong = await run(spawnSluice(['dlq', 'redrive', '--id', 'nope'], env))
  t.equal(wrong.code, 1, 'redrive of an unknown id exits 1')
  t.same(JSON.parse(wrong.stdout), { redriven: 0, failed: 0 })
  const redrive = await run(spawnSluice(['dlq', 'redrive', '--id', 'dead-1'], env))
  t.equal(redrive.code, 0, redrive.stderr)
  t.same(JSON.parse(redrive.stdout), { redriven: 2, failed: 0 }, 'the id in both sources')
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM events WHERE id = 'dead-1'",
  )
  t.equal(rows[0]!.n, 2, 'both are rows now')
  const after = await run(spawnSluice(['dlq', 'list'], env))
  t.same(
    after.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id),
    ['dead-2'],
    'only the other one is left',
  )

  const help = await run(spawnSluice(['dlq', 'redrive', '--help'], env))
  t.equal(help.code, 0)
  t.match(help.stdout, /Usage: sluice dlq redrive/)
  const stillThere = await run(spawnSluice(['dlq', 'list'], env))
  t.equal(stillThere.stdout.trim().split('\n').length, 1, '--help redrove nothing')
  const usage = await run(spawnSluice(['dlq', 'frob'], env))
  t.equal(usage.code, 2)
  t.match(usage.stderr, /usage: sluice dlq list\|redrive/)
  const badLimit = await run(spawnSluice(['dlq', 'list', '--limit', 'x'], env))
  t.equal(badLimit.code, 2)
  t.match(badLimit.stderr, /--limit must be an integer/)

  // With DATABASE_URL and no engine, the data directory is not touched: not even created.
  const absent = join(dir, 'never-made')
  const noDir = await run(spawnSluice(['dlq', 'list'], { ...env, SLUICE_DATA_DIR: absent }))
  t.equal(noDir.code, 0, noDir.stderr)
  t.notOk(existsSync(absent), 'SLUICE_DATA_DIR was not created')
})

t.test('sluice dlq on the embedded database of a data directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-dlq-embedded-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const list = await run(spawnSluice(['dlq', 'list'], { SLUICE_DATA_DIR: dir }))
  t.equal(list.code, 0, list.stderr)
  t.equal(list.stdout, '', 'migrated the embedded database and found no dead letters')
  const held = lockDataDir(dir, 'a test standing in for sluice start')
  t.teardown(() => held.release())
  const locked = await run(spawnSluice(['dlq', 'list'], { SLUICE_DATA_DIR: dir }))
  t.equal(locked.code, 1, 'refused while another process holds the data directory')
  t.match(locked.stderr, new RegExp(`pid ${process.pid}`))
})

failOnLeaks(t)
