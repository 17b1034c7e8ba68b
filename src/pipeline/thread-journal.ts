import type { JournalEntry } from '../../journal/types.js'
import type { Remote } from '../actors/rpc.js'
import type { ForwarderJournal } from '../forwarder/index.js'
import type { PipelineHostApi } from './actor-api.js'
import { unpackEntries } from './entry-transfer.js'

/**
 * The journal as the pipeline thread sees it: reads and marks are calls to the HTTP thread,
 * which owns the journal's single writer and its in-memory window of recent commits
 * (src/pipeline/pipeline-thread.ts answers them).
 */
export class ThreadJournal implements ForwarderJournal {
  constructor(private readonly host: Remote<PipelineHostApi>) {}

  async readPending(afterSeq: number, limit: number): Promise<JournalEntry[]> {
    return unpackEntries(await this.host.readPending(afterSeq, limit))
  }

  async markForwarded(seqs: readonly number[]): Promise<void> {
    await this.host.markForwarded(seqs)
  }

  forwardedThrough(): Promise<number> {
    return this.host.forwardedThrough()
  }
}
