import type { SyncMode } from './schema.js'
import type { NewEvent } from './types.js'
import type { CommitResult } from './writer-core.js'

export type { CommitResult } from './writer-core.js'

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
}

export interface WriterSpec {
  path: string
  sync: SyncMode
}
