import { JournalFileReader } from '../../journal/file-reader.js'
import type { JournalEntry } from '../../journal/types.js'
import type { Remote } from '../actors/rpc.js'
import type { ForwarderJournal } from '../forwarder/index.js'
import type { PipelineHostApi } from './actor-api.js'
import { unpackEntries } from './entry-transfer.js'

/**
 * The journal as the pipeline thread sees it: reads and marks are calls to the HTTP thread,
 * which owns the journal's single writer and its in-memory window of recent commits
 * (src/pipeline/pipeline-thread.ts answers them). A backlog below that window (after a burst,
 * an outage or a restart) this thread reads from the file over its own read-only connection:
 * reading it on the HTTP thread cost that thread a Buffer per row plus a copy into the
 * transfer buffer, while it answers webhooks.
 */
export class ThreadJournal implements ForwarderJournal {
  private readonly file = new JournalFileReader()

  constructor(private readonly host: Remote<PipelineHostApi>) {}

  async readPending(afterSeq: number, limit: number): Promise<JournalEntry[]> {
    for (;;) {
      const answer = await this.host.readPending(afterSeq, limit)
      if (!('fileUpTo' in answer)) return unpackEntries(answer)
      const rows = this.file.read(answer, afterSeq, limit)
      // The range held nothing pending (all forwarded meanwhile): what follows is in the window.
      if (rows.length > 0 || !(answer.fileUpTo > afterSeq) || answer.fileUpTo === Infinity) {
        return rows
      }
      afterSeq = answer.fileUpTo
    }
  }

  async markForwarded(seqs: readonly number[]): Promise<void> {
    await this.host.markForwarded(seqs)
  }

  forwardedThrough(): Promise<number> {
    return this.host.forwardedThrough()
  }

  /** After the pipeline closed: no read is under way. */
  close(): void {
    this.file.close()
  }
}
