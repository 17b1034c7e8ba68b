import type { FileRange } from '../../journal/types.js'
import type { ActorApi } from '../actors/thread-host.js'
import type { WithTransfer } from '../actors/rpc.js'
import type { ThreadMetrics } from '../metrics.js'
import type { AdminData } from '../model/admin-data.js'
import type { PackedEntries } from './entry-transfer.js'
import type { Check } from './readiness.js'

/** What the pipeline thread (src/pipeline/actor.ts) serves the engine's thread. */
export interface PipelineActorApi extends ActorApi {
  /** Latency hint: the journal committed new entries. */
  notify(): void
  /** Ingest keeps the HTTP thread busy (true) or is calm again. */
  pressure(busy: boolean): void
  ready(): Promise<void> | undefined
  readiness(): Promise<Record<string, Check>> | Record<string, Check>
  /** Its own registry and the dispatcher thread's, which it started. */
  metrics(): Promise<ThreadMetrics[]>
  /** The admin API's access to Postgres, which the pipeline owns. */
  readonly admin: AdminData
  close(): Promise<void>
}

/** What the engine's thread (src/pipeline/pipeline-thread.ts) serves the pipeline thread. */
export interface PipelineHostApi {
  /**
   * Pending journal entries, their bodies moved in one buffer (src/pipeline/entry-transfer.ts),
   * or, for a backlog below the journal's window of recent commits, the range to read from the
   * file (journal/file-reader.ts).
   */
  readPending(
    afterSeq: number,
    limit: number,
  ): Promise<WithTransfer<PackedEntries> | FileRange> | WithTransfer<PackedEntries> | FileRange
  markForwarded(seqs: readonly number[]): Promise<unknown>
  forwardedThrough(): Promise<number> | number
}
