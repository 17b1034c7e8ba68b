import { WriterCore } from './writer-core.js'
import type { CommitResult, JournalWriter, WriterSpec } from './writer.js'
import type { NewEvent } from './types.js'

/**
 * Writer on the calling (HTTP) thread. A commit blocks the event loop for its fsync, but costs
 * no message passing. Group commit still happens: requests parsed while the thread was blocked
 * are queued by the committer and go into the next commit.
 */
export class InlineWriter implements JournalWriter {
  private core: WriterCore | null = null
  private closing: Promise<void> | null = null

  constructor(private readonly spec: WriterSpec) {}

  async start(): Promise<void> {
    this.core = new WriterCore(this.spec.path, this.spec.sync)
  }

  async commit(events: readonly NewEvent[]): Promise<CommitResult> {
    return this.open().commit(events)
  }

  async markForwarded(seqs: readonly number[]): Promise<number> {
    return this.open().markForwarded(seqs)
  }

  async compact(): Promise<void> {
    this.open().compact()
  }

  async recover(): Promise<void> {
    this.open().recover()
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.core?.close()
      this.core = null
    })()
    return this.closing
  }

  private open(): WriterCore {
    if (!this.core) throw new Error('journal writer is not open')
    return this.core
  }
}
