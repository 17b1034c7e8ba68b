import type Database from 'better-sqlite3'
import { openWriteConnection, type SyncMode } from './schema.js'
import type { NewEvent } from './types.js'

/** Free pages returned to the file system per compact() call (8 MiB with 16 KiB pages). */
const VACUUM_PAGES_PER_COMPACT = 512

/** What one commit returns: the seq of each event in order, and the commit time. */
export interface CommitResult {
  seqs: number[]
  receivedAt: number
}

/**
 * The synchronous heart of the journal writer: owns the write connection and runs each
 * operation as one transaction. Runs either on the main thread (InlineWriter) or inside the
 * writer worker; both call exactly this code. Not thread-safe: one owner only.
 */
export class WriterCore {
  private readonly db: Database.Database
  private readonly insert: Database.Statement
  private readonly mark: Database.Statement
  private readonly commitTx: (events: readonly NewEvent[]) => CommitResult
  private readonly markTx: (seqs: readonly number[]) => number

  private readonly fullSync: boolean

  constructor(path: string, sync: SyncMode) {
    this.db = openWriteConnection(path, sync)
    this.fullSync = sync === 'full'
    this.insert = this.db.prepare(
      `INSERT INTO entries (source, id, received_at, content_type, headers, body, verified_by)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    // A forwarded entry has no further use, so marking deletes it: SQLite rewrites a whole row
    // (5 KB body included) on UPDATE, while DELETE only frees its pages for reuse.
    this.mark = this.db.prepare('DELETE FROM entries WHERE seq = ?')
    this.commitTx = this.db.transaction((events: readonly NewEvent[]) => {
      // One timestamp per commit: received_at is when the journal committed the event.
      const receivedAt = Date.now()
      const seqs: number[] = []
      for (const e of events) {
        const info = this.insert.run(
          e.source,
          e.id,
          receivedAt,
          e.contentType,
          JSON.stringify(e.headers),
          e.body,
          e.verifiedBy,
        )
        seqs.push(Number(info.lastInsertRowid))
      }
      return { seqs, receivedAt }
    })
    this.markTx = this.db.transaction((seqs: readonly number[]) => {
      let deleted = 0
      for (const s of seqs) deleted += this.mark.run(s).changes
      return deleted
    })
  }

  commit(events: readonly NewEvent[]): CommitResult {
    return this.commitTx(events)
  }

  /** Deletes the entries and returns how many it deleted, for the journal's pending count. */
  markForwarded(seqs: readonly number[]): number {
    // A mark lost to a power cut only means the entry is published again (a duplicate, never a
    // loss), so it need not wait for an fsync of its own: the next event commit syncs it.
    if (!this.fullSync) return this.markTx(seqs)
    this.db.pragma('synchronous = NORMAL')
    try {
      return this.markTx(seqs)
    } finally {
      this.db.pragma('synchronous = FULL')
    }
  }

  /** Give the pages of forwarded (deleted) entries back, and truncate the WAL to zero bytes. */
  compact(): void {
    // Bounded, so one compaction never stalls its thread for long (the inline writer runs on the
    // HTTP thread); the journal's timer compacts again every few seconds until the file is small.
    this.db.pragma(`incremental_vacuum(${VACUUM_PAGES_PER_COMPACT})`)
    // The checkpointer thread may hold the checkpoint lock for a moment: retry until done.
    for (let i = 0; i < 100; i++) {
      const [r] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>
      if (!r || r.busy === 0) return
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
    }
  }

  close(): void {
    if (this.db.open) this.db.close()
  }
}
