import Database from 'better-sqlite3'
import { addColumnIfMissing } from '../src/util/sqlite-columns.js'

export type SyncMode = 'full' | 'normal'

/** Name of the journal file inside SLUICE_DATA_DIR. */
export const JOURNAL_FILE = 'journal.db'

// auto_vacuum must be set before the first table exists: it lets compaction hand freed pages
// back to the file system instead of keeping them in the file forever. Every row is pending:
// marking an entry forwarded deletes it.
const DDL = `
CREATE TABLE IF NOT EXISTS entries (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  source       TEXT    NOT NULL,
  id           TEXT    NOT NULL,
  received_at  INTEGER NOT NULL,
  content_type TEXT    NOT NULL,
  headers      TEXT    NOT NULL,
  body         BLOB    NOT NULL,
  verified_by  TEXT,
  traceparent  TEXT
);
-- One row, rewritten by the writer's recovery after an I/O error: a commit that must reach the
-- disk (WAL write and fsync) to prove the disk takes writes again (journal/writer-core.ts).
CREATE TABLE IF NOT EXISTS writer_probe (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL
);
`

/**
 * Journals written before marks became deletes have a `forwarded` column that stayed 0 and a
 * partial index on it that every insert and delete kept up to date for nothing. The index must
 * go before the column can (SQLite refuses to drop an indexed column); both steps are
 * idempotent, so a crash between them is finished by the next open.
 */
function dropForwardedColumn(db: Database.Database): void {
  db.exec('DROP INDEX IF EXISTS entries_pending')
  const columns = db.pragma('table_info(entries)') as Array<{ name: string }>
  if (columns.some((c) => c.name === 'forwarded')) {
    db.exec('ALTER TABLE entries DROP COLUMN forwarded')
  }
}

/** Journals written before tracing have no traceparent column: added, nullable. */
const addTraceparentColumn = (db: Database.Database) =>
  addColumnIfMissing(db, 'entries', 'traceparent', 'TEXT')

/**
 * Open the single write connection. Only the writer (inline or the worker thread) holds one;
 * SQLite allows one writer at a time and a second would only queue on the lock.
 */
export function openWriteConnection(path: string, sync: SyncMode): Database.Database {
  const db = new Database(path)
  try {
    // 16 KiB pages hold a 5 KB webhook inline (no overflow pages): measured 28-38k -> 51-56k
    // appends/s and ~90k -> ~103k pending reads/s over 4 KiB pages. Only new files take it.
    db.pragma('page_size = 16384')
    db.pragma('auto_vacuum = INCREMENTAL')
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`)
    // The checkpointer thread keeps the WAL short; this automatic one (inside a commit, so it
    // stalls it) is only a backstop should the checkpointer fall behind.
    db.pragma('wal_autocheckpoint = 5000') // pages: 80 MiB
    db.exec(DDL)
    dropForwardedColumn(db)
    addTraceparentColumn(db)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

/** Open the read-only connection (pending reads, stats); WAL lets it read while the writer commits. */
export function openReadConnection(path: string): Database.Database {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  db.pragma('query_only = ON')
  return db
}
