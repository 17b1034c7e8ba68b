import type { Logger } from '../src/log.js'
import { ThreadHost, type ActorApi } from '../src/actors/thread-host.js'

// Same resolution rule as the other threads: .ts under tap's loader, .js from dist/.
const workerFile = new URL(
  import.meta.url.endsWith('.ts') ? './checkpoint-worker.ts' : './checkpoint-worker.js',
  import.meta.url,
)

/** What the checkpointer thread (journal/checkpoint-worker.ts) serves: its close. */
export interface CheckpointerApi extends ActorApi {
  close(): void
}

/** Runs PASSIVE WAL checkpoints on its own thread every `intervalMs`. */
export class Checkpointer {
  private readonly host: ThreadHost<CheckpointerApi>

  constructor(path: string, intervalMs: number, logger: Logger) {
    this.host = new ThreadHost({
      file: workerFile,
      workerData: () => ({ path, intervalMs }),
      logger,
      name: 'journal checkpointer thread',
      // A checkpointer failure only costs latency (the writer's auto-checkpoint takes over).
      whileDown: "the writer's own checkpoints take over",
      closeTimeoutMs: 5000,
      // It must not keep the process alive: the journal's close ends it.
      unref: true,
    })
  }

  start(): void {
    this.host.start()
  }

  close(): Promise<void> {
    return this.host.close()
  }
}
