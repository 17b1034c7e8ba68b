import type pg from 'pg'
import type { Config } from '../config.js'
import { withDataDirLock } from '../data-dir-lock.js'
import { openDatabase } from '../db/database.js'
import { migrate } from '../db/migrate.js'

/**
 * Run a one-shot command against the engine's database, migrated first: DATABASE_URL, or else
 * the embedded Postgres under SLUICE_DATA_DIR, which needs the data directory to itself (it
 * fails while an engine runs on it: use the engine's admin API then).
 */
export async function withCommandDatabase<T>(
  config: Config,
  holder: string,
  fn: (pool: pg.Pool) => Promise<T>,
): Promise<T> {
  const url = config.DATABASE_URL
  const run = async () => {
    const db = await openDatabase({
      ...(url ? { databaseUrl: url } : {}),
      dataDir: config.SLUICE_DATA_DIR,
      poolSize: 2,
      extraConnections: 0,
    })
    try {
      await migrate(db.pool)
      return await fn(db.pool)
    } finally {
      await db.close()
    }
  }
  return url ? run() : withDataDirLock(config.SLUICE_DATA_DIR, holder, run)
}
