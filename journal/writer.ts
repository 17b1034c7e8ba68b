import type { SyncMode } from './schema.js'
import type { NewEvent } from './types.js'
import type { CommitResult } from './writer-core.js'

export type { CommitResult } from './writer-core.js'

/**
 * `running`: accepts operations. `restarting`: its thread died; operations fail at once until a
 * new thread has opened the journal file again. `failed`: it can no longer commit, for good.
 */
export type WriterHealth = 'running' | 'restarting' | 'failed'

/**
 * The single journal writer as the main thread sees it. Operations are executed one at a
 * time in call order; the group committer never calls `commit` while another commit runs.
 */
export interface JournalWriter {
  start(): Promise<void>
  commit(events: readonly NewEvent[]): Promise<CommitResult>
  /** Resolves with the number of entries deleted (seqs already gone do not count). */
  markForwarded(seqs: readonly number[]): Promise<number>
  compact(): Promise<void>
  /**
   * After an operation failed with an I/O error: reopen the file, checkpoint the whole WAL into
   * it and truncate the WAL, then a probe commit; rejects while the disk still fails. See
   * WriterCore.recover.
   */
  recover(): Promise<void>
  close(): Promise<void>
  /** The journal reports `restarting` and `failed` from this. */
  readonly health: WriterHealth
}

export type WriterMode = 'inline' | 'worker'

export interface WriterSpec {
  path: string
  sync: SyncMode
}

/** One restart of a dead writer thread, as reported to `onWriterRestart`. */
export interface WriterRestart {
  /** Why: the thread's error or exit, or the failure of the previous restart. */
  cause: Error
  /** 1 for the first restart after a thread died; counts up while restarts fail in a row. */
  attempt: number
  /** Wait before this attempt; null when no attempt is left and the writer is now `failed`. */
  delayMs: number | null
}
