import type Database from 'better-sqlite3'

/**
 * Adds a nullable column to a table of a file written by an older version, once: SQLite has no
 * `ADD COLUMN IF NOT EXISTS`, so the table's columns are read first (idempotent, and a crash
 * right after the ALTER leaves nothing to redo).
 */
export function addColumnIfMissing(
  db: Database.Database,
  table: string,
  column: string,
  type: string,
): void {
  const columns = db.pragma(`table_info(${table})`) as Array<{ name: string }>
  if (!columns.some((c) => c.name === column)) {
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`)
  }
}
