import type Database from 'better-sqlite3'
import { openWriteConnection, type SyncMode } from './schema.js'
import type { NewEvent } from './types.js'

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
  private readonly markTx: (seqs: readonly number[]) => void

  constructor(path: string, sync: SyncMode) {
    this.db = openWriteConnection(path, sync)
    this.insert = this.db.prepare(
      `INSERT INTO entries (source, id, received_at, content_type, headers, body, verified_by)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    this.mark = this.db.prepare('UPDATE entries SET forwarded = 1 WHERE seq = ?')
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
      for (const s of seqs) this.mark.run(s)
    })
  }

  commit(events: readonly NewEvent[]): CommitResult {
    return this.commitTx(events)
  }

  markForwarded(seqs: readonly number[]): void {
    this.markTx(seqs)
  }

  /** Delete forwarded entries, give freed pages back, and truncate the WAL to zero bytes. */
  compact(): void {
    this.db.prepare('DELETE FROM entries WHERE forwarded = 1').run()
    this.db.pragma('incremental_vacuum')
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
