import type { PackedBatch } from './codec.js'
import type { CommitResult } from './writer-core.js'

/** Messages main thread -> writer worker. `n` pairs a request with its reply. */
export type WriterRequest =
  | { n: number; op: 'commit'; batch: PackedBatch }
  | { n: number; op: 'mark'; seqs: number[] }
  | { n: number; op: 'compact' }
  | { n: number; op: 'recover' }
  | { n: number; op: 'close' }

/** Replies writer worker -> main thread. */
export type WriterReply =
  | { n: number; ok: true; result?: CommitResult; deleted?: number }
  | { n: number; ok: false; message: string; code?: string }
