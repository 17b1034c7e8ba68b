import type Database from 'better-sqlite3'
import { openWriteConnection, type SyncMode } from './schema.js'
import type { NewEvent } from './types.js'
import { isIoFault } from './io-fault.js'
import { nextReceiptTime } from './receipt-time.js'

/** Free pages returned to the file system per compact() call (8 MiB with 16 KiB pages). */
const VACUUM_PAGES_PER_COMPACT = 512

/**
 * The seqs as inclusive [first, last] runs of consecutive integers, in order of first
 * appearance; a seq out of order or repeated starts a run of its own, so every seq given is
 * covered and no other.
 */
export function consecutiveRuns(seqs: readonly number[]): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  let run: [number, number] | undefined
  for (const s of seqs) {
    if (run && s === run[1] + 1) run[1] = s
    else runs.push((run = [s, s]))
  }
  return runs
}

/** What one commit returns: the seq of each event in order, and the commit time. */
export interface CommitResult {
  seqs: number[]
  receivedAt: number
}

/**
 * The synchronous heart of the journal writer: owns the write connection and runs each
 * operation as one transaction, on the HTTP thread (InlineWriter). Not thread-safe: one owner
 * only.
 */
export class WriterCore {
  private db!: Database.Database
  private insert!: Database.Statement
  private markRange!: Database.Statement
  private probe!: Database.Statement
  private commitTx!: (events: readonly NewEvent[]) => CommitResult
  private markTx!: (seqs: readonly number[]) => number

  private readonly fullSync: boolean
  /**
   * The I/O error that latched this writer, null while healthy. The main thread's IoFaultGuard
   * learns of a fault only when the reply arrives; operations already queued behind the failed
   * one (in the worker's port) would meanwhile run on the suspect connection, and a commit
   * whose fsync then succeeds would be acknowledged on a WAL that may have lost pages. So the
   * latch lives here, next to the connection: once set, only recover() runs.
   */
  private faulted: Error | null = null
  /** The receipt time of the last commit: each commit's is later (see commit()). */
  private lastReceivedAt = 0

  constructor(
    private readonly path: string,
    private readonly sync: SyncMode,
  ) {
    this.fullSync = sync === 'full'
    this.open()
  }

  /** Open the write connection and prepare its statements (at start, and by recover()). */
  private open(): void {
    this.db = openWriteConnection(this.path, this.sync)
    this.probe = this.db.prepare('INSERT OR REPLACE INTO writer_probe (id, at) VALUES (1, ?)')
    this.insert = this.db.prepare(
      `INSERT INTO entries (source, id, received_at, content_type, headers, body, verified_by,
         traceparent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    // A forwarded entry has no further use, so marking deletes it: SQLite rewrites a whole row
    // (5 KB body included) on UPDATE, while DELETE only frees its pages for reuse. A batch's
    // seqs are mostly consecutive, so one statement per run of them instead of one per entry.
    this.markRange = this.db.prepare('DELETE FROM entries WHERE seq BETWEEN ? AND ?')
    this.commitTx = this.db.transaction((events: readonly NewEvent[]) => {
      // One timestamp per commit: received_at is when the journal committed the event. Never
      // the last commit's again: see commit().
      const receivedAt = nextReceiptTime(Date.now(), this.lastReceivedAt)
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
          e.traceparent ?? null,
        )
        seqs.push(Number(info.lastInsertRowid))
      }
      return { seqs, receivedAt }
    })
    this.markTx = this.db.transaction((seqs: readonly number[]) => {
      let deleted = 0
      for (const [first, last] of consecutiveRuns(seqs))
        deleted += this.markRange.run(first, last).changes
      return deleted
    })
  }

  /**
   * Each commit's receivedAt is later than the one before: ordered delivery chains the events of
   * a key by receipt time, and two commits in one millisecond would tie, the tie then going by
   * the order the workers stored them in. The group committer starts no commit before the clock
   * passed the last one's, so this only breaks a tie the clock could not (see nextReceiptTime).
   */
  commit(events: readonly NewEvent[]): CommitResult {
    const r = this.latched(() => this.commitTx(events))
    this.lastReceivedAt = r.receivedAt
    return r
  }

  /** Deletes the entries and returns how many it deleted, for the journal's pending count. */
  markForwarded(seqs: readonly number[]): number {
    return this.latched(() => this.markSeqs(seqs))
  }

  private markSeqs(seqs: readonly number[]): number {
    // A mark lost to a power cut only means the entry is published again (a duplicate, never a
    // loss), so it need not wait for an fsync of its own: the next event commit syncs it.
    if (!this.fullSync) return this.markTx(seqs)
    // Not prepared once: SQLite applies a synchronous pragma when it compiles the statement,
    // so running a prepared one again changes nothing.
    this.db.pragma('synchronous = NORMAL')
    try {
      return this.markTx(seqs)
    } finally {
      this.db.pragma('synchronous = FULL')
    }
  }

  /** Give the pages of forwarded (deleted) entries back, and truncate the WAL to zero bytes. */
  compact(): void {
    this.latched(() => this.compactStep())
  }

  private compactStep(): void {
    // Bounded, so one compaction never stalls its thread for long (the inline writer runs on the
    // HTTP thread); the journal's timer compacts again every few seconds until the file is small.
    this.db.pragma(`incremental_vacuum(${VACUUM_PAGES_PER_COMPACT})`)
    this.truncateWal() // Still busy: the next compaction tries again.
  }

  /**
   * After an I/O error (a failed fsync or write): make the file trustworthy again, or throw.
   * A failed fsync may have cost pages the kernel then marked clean (fsyncgate, see
   * docs/journal-writer.md), and a later fsync succeeding proves nothing about them; in the
   * WAL they can be frames of earlier marks (written without an fsync of their own), so a
   * crash could stop WAL recovery at that hole and drop every acknowledged commit after it.
   * So: a new connection (the old one's state after the error is not trusted), a TRUNCATE
   * checkpoint (every frame the WAL index holds is written again into the main file, that file
   * fsync'd, the WAL emptied: nothing acknowledged later sits behind a suspect frame), then a
   * durable probe commit (a WAL write and fsync) proving the disk takes writes again. The
   * failed transaction itself was rolled back by SQLite and is not in the index.
   */
  recover(): void {
    try {
      this.db.close()
    } catch {
      // Already closed or unusable: the new connection below is what matters.
    }
    try {
      this.open()
      if (!this.truncateWal()) throw new Error('journal WAL checkpoint stayed busy')
      this.probe.run(Date.now())
    } catch (err) {
      if (isIoFault(err)) this.faulted ??= err as Error
      throw err
    }
    this.faulted = null
  }

  /**
   * Run a commit, mark or compaction unless the writer is latched; latch it on an I/O error.
   * The refusal carries code SQLITE_IOERR so that isIoFault (and the guard) treat it as the
   * fault it stands for, and the worker passes the code on like any SQLite error's.
   */
  private latched<T>(op: () => T): T {
    if (this.faulted)
      throw Object.assign(
        new Error('journal writer is held closed after an I/O error until recover() succeeds', {
          cause: this.faulted,
        }),
        { code: 'SQLITE_IOERR' },
      )
    try {
      return op()
    } catch (err) {
      if (isIoFault(err)) this.faulted = err as Error
      throw err
    }
  }

  /** wal_checkpoint(TRUNCATE); false when it stayed busy. Throws on an I/O error. */
  private truncateWal(): boolean {
    // The checkpointer thread may hold the checkpoint lock for a moment: retry until done.
    for (let i = 0; i < 100; i++) {
      const [r] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>
      if (!r || r.busy === 0) return true
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
    }
    return false
  }

  close(): void {
    if (this.db.open) this.db.close()
  }
}
