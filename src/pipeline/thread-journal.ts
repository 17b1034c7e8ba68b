import type { JournalEntry } from '../../journal/types.js'
import type { Rpc } from '../actors/rpc.js'
import type { ForwarderJournal } from '../forwarder/index.js'
import { unpackEntries, type PackedEntries } from './entry-transfer.js'

/**
 * The journal as the pipeline thread sees it: reads and marks are calls to the HTTP thread,
 * which owns the journal's single writer and its in-memory window of recent commits
 * (src/pipeline/pipeline-thread.ts answers them).
 */
export class ThreadJournal implements ForwarderJournal {
  constructor(private readonly rpc: Rpc) {}

  async readPending(afterSeq: number, limit: number): Promise<JournalEntry[]> {
    return unpackEntries(await this.rpc.call<PackedEntries>('readPending', { afterSeq, limit }))
  }

  async markForwarded(seqs: readonly number[]): Promise<void> {
    await this.rpc.call('markForwarded', seqs)
  }

  forwardedThrough(): Promise<number> {
    return this.rpc.call<number>('forwardedThrough')
  }
}
