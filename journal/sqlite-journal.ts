import type { Component } from '../src/component.js'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { Checkpointer } from './checkpointer.js'
import { DiskQuota } from './disk-quota.js'
import { JournalClosedError, JournalFullError, JournalUnavailableError } from './errors.js'
import { GroupCommitter } from './group-commit.js'
import { InlineWriter } from './inline-writer.js'
import { IO_FAULT_MESSAGE, IoFaultGuard, isIoFault } from './io-fault.js'
import { JOURNAL_FILE, openReadConnection } from './schema.js'
import { committedEntries, PENDING_RANGE_SQL, toEntry, type Row } from './entries.js'
import { EntryWindow } from './window.js'
import type { CommitResult, JournalWriter } from './writer.js'
import type {
  FileRange,
  Journal,
  JournalEntry,
  JournalState,
  JournalStats,
  NewEvent,
  RecentReads,
} from './types.js'
import { resolveJournalOptions, type SqliteJournalOptions } from './options.js'

export type { SqliteJournalOptions } from './options.js'

/** The SQLite journal: group-committed appends through one writer, reads on a read-only connection. */
export class SqliteJournal implements Journal, RecentReads, Component {
  readonly path: string
  private readonly opts: Required<SqliteJournalOptions>
  private readonly writer: JournalWriter
  private readonly committer: GroupCommitter
  private readonly faults: IoFaultGuard
  private reader: Database.Database | null = null
  /** Recently committed entries; null when `windowBytes` is 0. See journal/window.ts. */
  private readonly window: EntryWindow | null
  private checkpointer: Checkpointer | null = null
  private readonly statements = new Map<string, Database.Statement>()
  private state: JournalState = 'starting'
  private readonly quota: DiskQuota
  /** Rows in `entries`: counted once at start, then kept by commits and marks (count(*) scans the table). */
  private pending = 0
  private compactTimer: NodeJS.Timeout | null = null
  private compacting: Promise<void> | null = null
  private closing: Promise<void> | null = null

  constructor(options: SqliteJournalOptions) {
    const opts = resolveJournalOptions(options)
    this.opts = opts
    this.path = join(opts.dataDir, JOURNAL_FILE)
    this.quota = new DiskQuota(this.path, opts.dataDir, {
      maxBytes: opts.maxBytes,
      minFreeDiskBytes: opts.minFreeDiskBytes,
      intervalMs: opts.diskCheckIntervalMs,
    })
    const spec = { path: this.path, sync: opts.sync }
    // On the calling (HTTP) thread: a writer thread was measured no faster (docs/journal-writer.md).
    this.writer = new InlineWriter(spec)
    // `from` is set by start(), before the first commit.
    this.window = opts.windowBytes > 0 ? new EntryWindow(opts.windowBytes, Infinity) : null
    this.faults = new IoFaultGuard(
      async () => {
        await this.writer.recover()
        // The running count only follows answers: an operation around the fault may have
        // reached the file (or not) against what its answer said. Count afresh before opening.
        this.resync()
      },
      (r) => opts.onIoFault(r),
    )
    const commit = async (events: readonly NewEvent[]) => {
      // Batches queued behind the one that failed are refused too, not committed on a suspect WAL.
      this.faults.check()
      let r: CommitResult
      try {
        r = await this.writer.commit(events)
      } catch (err) {
        this.faults.observe(err)
        // The commit may have reached the file all the same (a failed fsync after the write).
        this.forgetWindow()
        throw err
      }
      this.pending += r.seqs.length
      if (r.seqs.length === events.length) this.window?.add(committedEntries(events, r))
      else this.forgetWindow()
      return r
    }
    this.committer = new GroupCommitter(commit, opts.onCommit, opts.maxBatch)
  }

  async start(): Promise<void> {
    mkdirSync(this.opts.dataDir, { recursive: true })
    try {
      await this.writer.start()
      this.reader = openReadConnection(this.path)
      this.resync()
      if (this.opts.checkpointIntervalMs > 0) {
        const { checkpointIntervalMs, logger } = this.opts
        this.checkpointer = new Checkpointer(this.path, checkpointIntervalMs, logger)
        this.checkpointer.start()
      }
      await this.quota.start()
    } catch (err) {
      await this.checkpointer?.close().catch(() => {})
      await this.writer.close().catch(() => {})
      this.state = 'failed'
      throw new JournalUnavailableError(`cannot open the journal at ${this.path}`, { cause: err })
    }
    this.state = 'open'
    this.quota.startTimer()
    if (this.opts.compactIntervalMs > 0) {
      this.compactTimer = setInterval(() => this.compactInBackground(), this.opts.compactIntervalMs)
      this.compactTimer.unref()
    }
  }

  /** Resolves after the commit holding the event returned. Rejects with a Journal*Error. */
  async append(event: NewEvent): Promise<JournalEntry> {
    const state = this.state
    if (state !== 'open') {
      if (state === 'closed' || this.closing) throw new JournalClosedError('journal is closed')
      throw new JournalUnavailableError(`journal is ${state}`)
    }
    this.faults.check()
    if (this.quota.isFull()) throw new JournalFullError('journal is over its disk quota')
    // Counted before the commit so a burst cannot overshoot the quota between measurements.
    this.quota.add(event.body.byteLength + 256)
    let r: { seq: number; receivedAt: number }
    try {
      r = await this.committer.add(event)
    } catch (err) {
      if (err instanceof JournalUnavailableError) throw err
      const why = isIoFault(err) ? IO_FAULT_MESSAGE : 'journal commit failed; retry later'
      throw new JournalUnavailableError(why, { cause: err })
    }
    return { ...event, seq: r.seq, receivedAt: r.receivedAt }
  }

  /**
   * From the window where it covers the range, from the file below it: the answer is the
   * file's (the SQLite query's) either way. Entries from the window are the objects it holds,
   * shared between answers: callers must not modify them.
   */
  readPending(afterSeq: number, limit: number): JournalEntry[] {
    const window = this.window
    if (!this.reader) throw new JournalClosedError('journal is not open')
    // Arguments SQLite treats specially (a negative limit = none, NaN = NULL) go to SQLite.
    if (!window || !Number.isInteger(limit) || limit <= 0 || Number.isNaN(afterSeq)) {
      const rows = this.statement(
        'pending',
        `SELECT seq, source, id, received_at, content_type, headers, body, verified_by, traceparent
         FROM entries WHERE seq > ? ORDER BY seq LIMIT ?`,
      ).all(afterSeq, limit) as Row[]
      return rows.map(toEntry)
    }
    let out: JournalEntry[] = []
    if (afterSeq < window.from) {
      // The part the window may not hold: a backlog, or entries it evicted. With nothing
      // pending below `from` this is one B-tree descent.
      const rows = this.statement('pendingUpTo', PENDING_RANGE_SQL).all(
        afterSeq,
        window.from,
        limit,
      ) as Row[]
      out = rows.map(toEntry)
    }
    if (out.length < limit) window.read(afterSeq, limit, out)
    return out
  }

  /**
   * readPending for a reader on another thread: the entries from the window where it covers
   * the range, else the range below the window for the caller to read from the file itself
   * (journal/file-reader.ts), so that a backlog's rows are not read and copied on this thread.
   * What the caller reads there and what follows from here again is readPending's answer.
   */
  readRecent(afterSeq: number, limit: number): JournalEntry[] | FileRange {
    const window = this.window
    if (!this.reader) throw new JournalClosedError('journal is not open')
    if (!window) return { path: this.path, fileUpTo: Infinity }
    if (!Number.isInteger(limit) || limit <= 0 || Number.isNaN(afterSeq)) {
      return this.readPending(afterSeq, limit)
    }
    if (afterSeq < window.from) return { path: this.path, fileUpTo: window.from }
    const out: JournalEntry[] = []
    window.read(afterSeq, limit, out)
    return out
  }

  /** An entry leaves readPending's answers once its mark returned. */
  async markForwarded(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return
    // Not `this.pending -= await ...`: that reads pending before the await and loses the
    // updates of commits and marks that complete meanwhile.
    let deleted: number
    this.faults.check()
    try {
      deleted = await this.writer.markForwarded(seqs)
    } catch (err) {
      this.faults.observe(err)
      // Some of them may be deleted: the window no longer knows which.
      this.forgetWindow()
      throw err
    }
    this.pending -= deleted
    this.window?.remove(seqs)
  }

  /**
   * Return up to 8 MiB of the space of forwarded entries to the file system and truncate the
   * WAL. The journal runs this every `compactIntervalMs` by itself; call it to compact now.
   */
  async compact(): Promise<void> {
    this.faults.check()
    try {
      await this.writer.compact()
    } catch (err) {
      this.faults.observe(err)
      throw err
    }
    await this.quota.remeasure()
  }

  stats(): JournalStats {
    // The lowest seq is the entry waiting longest: one B-tree descent, where min(received_at)
    // read every row (~50 ms for 50k pending 5 KB entries, on the HTTP thread).
    const oldest = this.statement(
      'oldest',
      'SELECT received_at FROM entries ORDER BY seq LIMIT 1',
    ).get() as { received_at: number } | undefined
    return {
      pending: this.pending,
      bytes: this.quota.bytes,
      oldestPendingAt: oldest?.received_at ?? null,
      state: this.currentState(),
      maxBytes: this.quota.maxBytes,
      freeDiskBytes: this.quota.freeBytes,
    }
  }

  forwardedThrough(): number {
    const oldest = this.statement(
      'oldest',
      'SELECT received_at FROM entries ORDER BY seq LIMIT 1',
    ).get() as { received_at: number } | undefined
    const committing = this.committer.committingSince
    return Math.min(oldest?.received_at ?? Infinity, committing ?? Infinity, Date.now())
  }

  /** Resolves once every append accepted so far has been committed (or failed). */
  flush(): Promise<void> {
    return this.committer.idle()
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.quota.stop()
      if (this.compactTimer) clearInterval(this.compactTimer)
      await this.faults.close()
      await this.committer.idle()
      await this.compacting
      await this.quota.idle()
      const errors: unknown[] = []
      await this.checkpointer?.close().catch((e: unknown) => errors.push(e))
      await this.writer.close().catch((e: unknown) => errors.push(e))
      try {
        this.reader?.close()
      } catch (e) {
        errors.push(e)
      }
      this.reader = null
      this.statements.clear()
      this.window?.reset(Infinity)
      this.state = 'closed'
      if (errors.length > 0) throw new AggregateError(errors, 'journal close failed')
    })()
    return this.closing
  }

  private currentState(): JournalState {
    const state = this.state
    if (state === 'open' && this.faults.faulted) return 'io_error'
    return state === 'open' && this.quota.isFull() ? 'full' : state
  }

  /**
   * Count the rows afresh and restart the window: at start, and after an I/O fault's recovery
   * (an operation around the fault may have reached the file or not against what its answer
   * said, so the running count is off and the window may miss rows or hold deleted ones).
   */
  private resync(): void {
    if (!this.reader) return
    const counted = this.reader.prepare('SELECT count(*) AS n FROM entries').get()
    this.pending = (counted as { n: number }).n
    this.forgetWindow()
  }

  /**
   * Empty the window and let it cover only what is committed from now on: every row there is
   * now has seq <= max(seq), so readPending reads them from the file. Called where no commit
   * of this journal is between its write and its result, or (a failed mark) where one is: its
   * rows are then either counted in max(seq) or above it and added when its result arrives.
   */
  private forgetWindow(): void {
    if (!this.window) return
    let from = Infinity // The file cannot be read: read nothing from the window either.
    try {
      const top = this.statement('maxSeq', 'SELECT max(seq) AS seq FROM entries').get()
      from = (top as { seq: number | null }).seq ?? 0
    } catch {
      // Keep Infinity; a later resync (after a recovery) tries again.
    }
    this.window.reset(from)
  }

  /** One timed compaction at a time; none while the writer is down (it would only fail). */
  private compactInBackground(): void {
    if (this.compacting || this.state !== 'open' || this.faults.faulted || this.closing) return
    this.compacting = this.compact()
      .catch((err: unknown) => this.opts.onCompactError(err))
      .finally(() => {
        this.compacting = null
      })
  }

  /** Prepared once per read connection: the forwarder calls readPending in a loop. */
  private statement(name: string, sql: string): Database.Statement {
    if (!this.reader) throw new JournalClosedError('journal is not open')
    let st = this.statements.get(name)
    if (!st) {
      st = this.reader.prepare(sql)
      this.statements.set(name, st)
    }
    return st
  }
}
