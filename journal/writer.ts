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
  close(): Promise<void>
  /** True once the writer can no longer commit (its thread died); the journal reports `failed`. */
  readonly failed: boolean
}

export type WriterMode = 'inline' | 'worker'

export interface WriterSpec {
  path: string
  sync: SyncMode
}
