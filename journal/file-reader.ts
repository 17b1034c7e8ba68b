import type Database from 'better-sqlite3'
import { PENDING_RANGE_SQL, toEntry, type Row } from './entries.js'
import { openReadConnection } from './schema.js'
import type { FileRange, JournalEntry } from './types.js'

/**
 * A read-only connection of its own to a journal file, for the FileRanges that readRecent
 * answers. The pipeline thread holds one, so a backlog read back from the file (a Buffer per
 * 5 KB row) is read, and its Buffers freed, on that thread: the HTTP thread only says up to
 * which seq to read. Opened at the first range, reopened when the file named changes.
 */
export class JournalFileReader {
  private db: Database.Database | null = null
  private range: Database.Statement | null = null
  private path: string | null = null

  /** Pending entries with afterSeq < seq <= r.fileUpTo, in seq order, at most `limit`. */
  read(r: FileRange, afterSeq: number, limit: number): JournalEntry[] {
    if (!this.range || this.path !== r.path) {
      this.close()
      this.db = openReadConnection(r.path)
      this.path = r.path
      this.range = this.db.prepare(PENDING_RANGE_SQL)
    }
    return (this.range.all(afterSeq, r.fileUpTo, limit) as Row[]).map(toEntry)
  }

  close(): void {
    const db = this.db
    this.db = null
    this.range = null
    this.path = null
    db?.close()
  }
}
