import { SluiceError } from '../errors.js'
import { PermanentError } from '../permanent-error.js'

/**
 * The database could not be reached or lost the connection mid-batch. Nothing in the batch is
 * known to be committed as a failure of the event itself: the consumer retries the whole batch
 * later without counting an attempt against the events, and acks nothing.
 */
export class DatabaseUnavailableError extends SluiceError<'database_unavailable'> {
  override name = 'DatabaseUnavailableError'
  constructor(message?: string, options?: ErrorOptions) {
    super('database_unavailable', message, options)
  }
}

/** Thrown by migrate() when the database was migrated by a newer Sluice than this one. */
export class SchemaTooNewError extends SluiceError<'schema_too_new'> {
  override name = 'SchemaTooNewError'
  constructor(message?: string, options?: ErrorOptions) {
    super('schema_too_new', message, options)
  }
}

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
    const code = (e as { code?: unknown }).code
    if (code === '28P01' || code === '28000' || code === '42501') {
      return new PermanentError(
        'database_access_denied',
        `PostgreSQL refused access: ${e.message}`,
        'check the user and password in DATABASE_URL and that the user may create tables in its schema (search_path)',
        { cause: err },
      )
    }
    if (code === '3D000') {
      return new PermanentError(
        'database_missing',
        `the database in DATABASE_URL does not exist: ${e.message}`,
        'create the database (CREATE DATABASE ...) or fix DATABASE_URL',
        { cause: err },
      )
    }
  }
  return null
}
