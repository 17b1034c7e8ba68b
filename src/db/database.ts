import pg from 'pg'
import type { Logger } from '../log.js'
import { startEmbeddedPostgres } from './embedded.js'
import { migrate, type MigrateResult } from './migrate.js'

export interface DatabaseOptions {
  /** DATABASE_URL; unset starts the embedded PGlite server. */
  databaseUrl?: string
  /** SLUICE_DATA_DIR (embedded data under `<dataDir>/pg`). */
  dataDir: string
  /** Connections of the main thread's pool (migrations, maintenance, ping, DLQ). @defaultValue 4 */
  poolSize?: number
  /** Connections the embedded server must accept beyond the main pool (the worker threads). */
  extraConnections?: number
  logger?: Logger
  /** Abandons the embedded database's start in progress (see EmbeddedOptions.signal). */
  signal?: AbortSignal
}

export interface Database {
  /** Connection string the worker threads use. */
  url: string
  embedded: boolean
  /** The main thread's pool. */
  pool: pg.Pool
  /** End the pool, then stop the embedded server if any. Idempotent. */
  close(): Promise<void>
}

/** Connect to DATABASE_URL or start the embedded database; the caller migrates. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const poolSize = options.poolSize ?? 4
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new TypeError('options.poolSize must be a positive integer')
  }
  const embedded = options.databaseUrl
    ? null
    : await startEmbeddedPostgres({
        dataDir: options.dataDir,
        maxConnections: poolSize + (options.extraConnections ?? 16),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      })
  const url = options.databaseUrl ?? embedded!.url
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
  })
  // Idle clients that lose the server emit here; the pool replaces them, so only log.
  pool.on('error', (err) => options.logger?.warn({ err }, 'idle database connection lost'))
  if (embedded) options.logger?.info({ url }, 'embedded PostgreSQL (PGlite) started')
  let closing: Promise<void> | null = null
  return {
    url,
    embedded: embedded !== null,
    pool,
    close() {
      closing ??= (async () => {
        try {
          await pool.end()
        } finally {
          await embedded?.close()
        }
      })()
      return closing
    },
  }
}

/** `sluice migrate`: open the database, apply pending migrations, close. */
export async function migrateCommand(options: DatabaseOptions): Promise<MigrateResult> {
  const db = await openDatabase({ ...options, poolSize: 1, extraConnections: 0 })
  try {
    return await migrate(db.pool, options.logger)
  } finally {
    await db.close()
  }
}
