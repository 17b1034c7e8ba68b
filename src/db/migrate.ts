import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import type { Logger } from '../log.js'
import { SchemaTooNewError } from './errors.js'
import { serialize } from './local-lock.js'
import { migrationsDir } from './paths.js'

export interface Migration {
  version: number
  name: string
  sql: string
}

/** Session advisory lock key that serialises migrators of one database (several nodes). */
export const MIGRATION_LOCK_KEY = 5_317_911_001

/** The numbered SQL files (`0001_name.sql`), in order. Throws on a gap or a duplicate number. */
export function readMigrations(dir: string = migrationsDir()): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => {
      const m = /^(\d+)_([\w-]+)\.sql$/.exec(file)
      if (!m) throw new Error(`migration file ${file} is not named NNNN_name.sql`)
      return { version: Number(m[1]), name: m[2]!, sql: readFileSync(join(dir, file), 'utf8') }
    })
    .sort((a, b) => a.version - b.version)
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migrations must be numbered 1..n; found ${m.version} at ${i + 1}`)
  })
  return migrations
}

export interface MigrateResult {
  /** Versions applied by this call (empty when the database was already current). */
  applied: number[]
  /** Schema version of the database afterwards. */
  version: number
}

/**
 * Bring the database to the latest migration. Safe to run from several nodes at once: a
 * session advisory lock serialises them, and each migration commits together with its ledger
 * row, so a crash leaves the database at a whole version. Refuses (SchemaTooNewError) a
 * database migrated by a newer Sluice. Objects are created in the connection's search_path.
 */
export function migrate(
  db: string | pg.Pool,
  logger?: Logger,
  migrations: Migration[] = readMigrations(),
): Promise<MigrateResult> {
  return serialize('migrate', () => migrateLocked(db, logger, migrations))
}

async function migrateLocked(
  db: string | pg.Pool,
  logger: Logger | undefined,
  migrations: Migration[],
): Promise<MigrateResult> {
  const own = typeof db === 'string'
  const client: pg.Client | pg.PoolClient = own
    ? new pg.Client({ connectionString: db })
    : await db.connect()
  if (own) await client.connect()
  // A PoolClient is also a pg.Client instance: tell them apart by who created it.
  const done = async (err?: unknown) => {
    if (own) await client.end().catch(() => {})
    else (client as pg.PoolClient).release(err instanceof Error ? err : undefined)
  }
  let result: MigrateResult
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    try {
      result = await applyPending(client, migrations, logger)
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {})
    }
  } catch (err) {
    await done(err)
    if (err instanceof SchemaTooNewError) throw err
    throw new Error(`migration failed: ${(err as Error).message}`, { cause: err })
  }
  await done()
  return result
}

async function applyPending(
  client: pg.ClientBase,
  migrations: Migration[],
  logger?: Logger,
): Promise<MigrateResult> {
  await client.query(`CREATE TABLE IF NOT EXISTS sluice_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`)
  const { rows } = await client.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM sluice_migrations',
  )
  const current = rows[0]?.v ?? 0
  const latest = migrations.length
  if (current > latest) {
    throw new SchemaTooNewError(
      `the database schema is at version ${current} but this Sluice knows versions up to ${latest}; ` +
        'it was migrated by a newer Sluice: upgrade this node instead of running it',
    )
  }
  const applied: number[] = []
  for (const m of migrations.slice(current)) {
    await client.query('BEGIN')
    try {
      await client.query(m.sql)
      await client.query('INSERT INTO sluice_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ])
      await client.query('COMMIT')
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw new Error(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`, {
        cause: err,
      })
    }
    applied.push(m.version)
    logger?.info({ version: m.version, name: m.name }, 'migration applied')
  }
  return { applied, version: Math.max(current, latest) }
}
