import type { WebhookEvent } from '../src/event.js'

/** An event as the HTTP server hands it to the journal: receivedAt is set by the commit. */
export type NewEvent = Omit<WebhookEvent, 'receivedAt'>

/** A committed journal entry. `seq` is strictly increasing in commit order. */
export interface JournalEntry extends WebhookEvent {
  seq: number
}

export interface JournalStats {
  /** Entries not yet marked forwarded. */
  pending: number
  /** Bytes of the journal files (main, WAL, shm) at the last measurement, plus appends since. */
  bytes: number
  /** receivedAt of the oldest pending entry, null when none. */
  oldestPendingAt: number | null
  /**
   * Whether the journal accepts appends: `full` = over its quota or the disk is low;
   * `io_error` = a write
   * or fsync of the journal failed, appends are refused until a recovery succeeded (retried by
   * itself, see journal/io-fault.ts); `failed` = for good.
   */
  state?: JournalState
  /** Size past which appends are refused (SLUICE_JOURNAL_MAX_BYTES). */
  maxBytes?: number
  /** Free bytes on the journal's file system at the last measurement. */
  freeDiskBytes?: number
}

export type JournalState = 'starting' | 'open' | 'full' | 'io_error' | 'failed' | 'closed'

/**
 * The journal as the rest of the engine sees it. Contract: `append` resolves only after the
 * SQLite transaction holding the events committed (fsync'd when sync is `full`); events
 * appended concurrently share one commit (group commit). The journal gives the space of
 * forwarded entries back to the file system on its own; callers only append, read and mark.
 */
export interface Journal {
  start(): Promise<void>
  append(event: NewEvent): Promise<JournalEntry>
  /**
   * Pending entries with seq > afterSeq, in seq order. The entries may be shared with the
   * journal and with later answers: callers must not modify them (nor their bodies).
   */
  readPending(afterSeq: number, limit: number): JournalEntry[] | Promise<JournalEntry[]>
  /** The broker confirmed these entries: they leave the journal (readPending no longer returns them). */
  markForwarded(seqs: readonly number[]): Promise<void>
  stats(): JournalStats | Promise<JournalStats>
  /**
   * A receipt time such that every entry received before it has been forwarded (marked): the
   * oldest pending entry's, or the start of the commit under way, or now.
   */
  forwardedThrough(): number | Promise<number>
  close(): Promise<void>
}

/**
 * readRecent's answer where the journal's window of recent commits does not cover the range:
 * the pending rows with seq in (afterSeq, fileUpTo] are in the file only, and the caller reads
 * them there over a connection of its own (journal/file-reader.ts), then asks again after them.
 */
export interface FileRange {
  /** The journal file (SQLite), to be opened read-only. */
  path: string
  fileUpTo: number
}

/** A journal that can leave the reading of a backlog to a caller on another thread. */
export interface RecentReads {
  /** readPending's answer where it comes from memory; a FileRange where it would read the file. */
  readRecent(afterSeq: number, limit: number): JournalEntry[] | FileRange
}
