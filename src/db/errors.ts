import { codedError } from '../errors.js'
import { PermanentError, type PermanentCode } from '../permanent-error.js'

/**
 * The database could not be reached or lost the connection mid-batch. Nothing in the batch is
 * known to be committed as a failure of the event itself: the consumer retries the whole batch
 * later without counting an attempt against the events, and acks nothing.
 */
export class DatabaseUnavailableError extends codedError('database_unavailable') {}

/**
 * The store step was closed (the engine is stopping) under a batch still asking for it: no
 * event's fault, so nothing may be charged for it (src/consumer/isolate.ts batchFault).
 */
export class StoreClosedError extends codedError('shutting_down') {}

/** Thrown by migrate() when the database was migrated by a newer Sluice than this one. */
export class SchemaTooNewError extends codedError('schema_too_new') {}

// SQLSTATE classes that say "the server or the link is the problem, not this data":
// 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown,
// cancel), 58 system error, 40 transaction rollback (serialization failure, deadlock).
const TRANSIENT_CLASSES = new Set(['08', '53', '57', '58', '40'])

// Node socket errors that mean the connection, not the data, failed.
const NODE_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * Whether an error from `pg` is about the connection or server state (retry the batch later)
 * rather than about the data of one row (isolate the row). Errors with no SQLSTATE at all come
 * from the client side of the link (socket closed, "Connection terminated unexpectedly",
 * pool timeouts) and count as connection errors.
 */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return true
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string') return true
  if (NODE_CONNECTION_CODES.has(code)) return true
  if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_CLASSES.has(code.slice(0, 2))
  return true
}

/**
 * A database error that retrying cannot fix, as a PermanentError (walking the `cause` chain);
 * null for anything else. SchemaTooNewError is not retryable: only another Sluice version fixes it.
 */
export function permanentDatabaseError(err: unknown): PermanentError | null {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof SchemaTooNewError) {
      return new PermanentError(
        'schema_too_new',
        e.message,
        'upgrade this node to the Sluice version that migrated the database',
        { cause: err, retryable: false },
      )
    }
    const sqlstate = (e as { code?: unknown }).code
    const found = typeof sqlstate === 'string' ? permanentSqlState(sqlstate, e.message) : null
    if (found) return new PermanentError(found.code, found.message, found.hint, { cause: err })
  }
  return null
}

/**
 * SQLSTATEs that say "this database, as configured, cannot take Sluice's writes" rather than
 * "this event is bad" or "the link is down": an operator must act, and no event should spend an
 * attempt on it. Plain data, so a worker thread can send it across (errors lose their class).
 */
export function permanentSqlState(
  sqlstate: string,
  detail: string,
): { code: PermanentCode; message: string; hint: string } | null {
  if (sqlstate === '28P01' || sqlstate === '28000' || sqlstate === '42501') {
    return {
      code: 'database_access_denied',
      message: `PostgreSQL refused access: ${detail}`,
      hint: 'check the user and password in DATABASE_URL and that the user may create and write the tables in its schema (search_path)',
    }
  }
  if (sqlstate === '3D000') {
    return {
      code: 'database_missing',
      message: `the database in DATABASE_URL does not exist: ${detail}`,
      hint: 'create the database (CREATE DATABASE ...) or fix DATABASE_URL',
    }
  }
  if (sqlstate === '42P01' || sqlstate === '42703' || sqlstate === '3F000') {
    return {
      code: 'database_schema_missing',
      message: `a table Sluice needs is missing: ${detail}`,
      hint: "check the search_path of DATABASE_URL's user, or run sluice migrate if tables were dropped",
    }
  }
  if (sqlstate === '25006') {
    return {
      code: 'database_read_only',
      message: `the database only accepts reads: ${detail}`,
      hint: 'point DATABASE_URL at the primary, not a standby',
    }
  }
  return null
}

/**
 * Runs `fn` again when Postgres ended it for a deadlock or a serialization failure (SQLSTATE
 * class 40): both resolve by trying again. Gives up after `attempts`, throwing the last error.
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (attempt >= attempts || typeof code !== 'string' || !code.startsWith('40')) throw err
    }
  }
}
