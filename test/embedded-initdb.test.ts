import t, { type Test } from 'tap'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { startEmbeddedPostgres } from '../src/db/embedded.js'
import { initdbMarker, lockMarker, needsInitdb } from '../src/db/embedded-initdb-marker.js'
import { embeddedOptions, initdbInProcess } from '../src/db/embedded-memory.js'
import { readMigrations } from '../src/db/migrate.js'
import { partitionName, utcDay } from '../src/db/partitions.js'
import { until } from './helpers/wait.js'

// The first start's initdb runs in a child process (src/db/embedded-memory.ts says why) in the
// directory itself, between a marker on disk and its removal (src/db/embedded-initdb-marker.ts).
// initdbInProcess resolves when that process has exited, so a child that never ends would hang.

function tempRoot(t: Test): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-initdb-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  return root
}

/** The directory opens as a database that answers a query. */
async function answers(dir: string): Promise<number> {
  // As the engine opens it (src/db/embedded-thread.ts).
  const db = await PGlite.create(realpathSync(dir), embeddedOptions())
  try {
    const r = await db.query<{ n: number }>('SELECT 40 + 2 AS n')
    return r.rows[0]!.n
  } finally {
    await db.close()
  }
}

/** The migrations' version and whether today's events partition exists. */
async function schema(dir: string): Promise<{ version: number; today: boolean }> {
  const db = await PGlite.create(realpathSync(dir), embeddedOptions())
  try {
    const v = await db.query<{ v: number }>('SELECT max(version) AS v FROM sluice_migrations')
    const p = await db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [
      partitionName(utcDay(new Date())),
    ])
    return { version: v.rows[0]!.v, today: p.rows[0]!.ok }
  } finally {
    await db.close()
  }
}

t.test('initdb in place, the marker gone once it finished', async (t) => {
  const root = tempRoot(t)
  const dir = join(root, 'pg')
  mkdirSync(dir)
  t.ok(needsInitdb(dir), 'no database yet')
  await initdbInProcess(dir)
  t.notOk(needsInitdb(dir), 'the directory holds a database')
  t.ok(existsSync(join(dir, 'postgresql.conf')), 'with its configuration')
  // The child's own PGlite did the first start's DDL (src/db/embedded-initdb-schema.ts).
  t.same(
    await schema(dir),
    { version: readMigrations().length, today: true },
    'migrated, with the day partitions',
  )
  t.same(readdirSync(root), ['pg'], 'no marker and nothing else is left beside it')
})

t.test('a start interrupted during initdb is initialised again', async (t) => {
  const root = tempRoot(t)
  const dir = join(root, 'pg')
  // What an interrupted start leaves: the marker and part of a directory.
  mkdirSync(join(dir, 'base'), { recursive: true })
  writeFileSync(join(dir, 'PG_VERSION'), '18\n')
  writeFileSync(join(dir, 'base', 'junk'), 'half a file')
  writeFileSync(initdbMarker(dir), '')
  t.ok(needsInitdb(dir), 'PG_VERSION with the marker is no database')
  await initdbInProcess(dir)
  t.notOk(existsSync(join(dir, 'base', 'junk')), 'what the interrupted start wrote is gone')
  t.notOk(existsSync(initdbMarker(dir)), 'the marker is gone')
  t.equal(await answers(dir), 42, 'the database works')
})

t.test('an initdb child killed midway: the next start initialises again', async (t) => {
  const root = tempRoot(t)
  const dir = join(root, 'pg')
  mkdirSync(dir)
  let pid = 0
  const first = initdbInProcess(dir, (p) => (pid = p))
  await until(
    'initdb has begun writing',
    () => pid !== 0 && existsSync(initdbMarker(dir)) && existsSync(join(dir, 'PG_VERSION')),
    120_000,
    5,
  )
  process.kill(pid, 'SIGKILL')
  await t.rejects(first, /killed by SIGKILL/, 'the start fails')
  t.ok(existsSync(initdbMarker(dir)), 'the marker stays')
  t.ok(needsInitdb(dir), 'the directory is not taken as a database')
  await initdbInProcess(dir)
  t.notOk(needsInitdb(dir), 'initialised on the second start')
  t.equal(await answers(dir), 42, 'the database works')
  t.equal((await schema(dir)).version, readMigrations().length, 'and migrated')
})

t.test('the directory is not cleared while an earlier child still holds the marker', async (t) => {
  const root = tempRoot(t)
  const dir = join(root, 'pg')
  mkdirSync(dir)
  writeFileSync(join(dir, 'PG_VERSION'), '18\n')
  writeFileSync(initdbMarker(dir), '')
  // This process stands in for a child left by a stopped engine (SQLite refuses a second lock
  // from the same process too).
  const held = lockMarker(initdbMarker(dir))
  t.ok(held, 'the stand-in holds the marker')
  const run = initdbInProcess(dir)
  // Unlocked, the clearing would have happened before initdbInProcess returned its promise.
  t.ok(existsSync(join(dir, 'PG_VERSION')), 'nothing cleared while it is held')
  held!.close()
  await run
  t.notOk(needsInitdb(dir), 'initialised once it was released')
})

t.test('<data>/pg as a symlink stays one; the engine database is in its target', async (t) => {
  const root = tempRoot(t)
  const target = join(root, 'volume')
  mkdirSync(target)
  const dataDir = join(root, 'data')
  mkdirSync(dataDir)
  const dir = join(dataDir, 'pg')
  symlinkSync(target, dir)
  // The engine's path: the embedded database's thread runs initdb and opens the directory.
  const embedded = await startEmbeddedPostgres({ dataDir, maxConnections: 1 })
  t.teardown(() => embedded.close())
  const client = new pg.Client({ connectionString: embedded.url })
  await client.connect()
  const r = await client.query<{ n: number }>('SELECT 40 + 2 AS n')
  await client.end()
  t.equal(r.rows[0]!.n, 42, 'the database works')
  t.ok(lstatSync(dir).isSymbolicLink(), 'still a symlink')
  t.ok(existsSync(join(target, 'PG_VERSION')), 'the database is in the target')
  t.notOk(existsSync(initdbMarker(dir)), 'no marker left in the data directory')
})
