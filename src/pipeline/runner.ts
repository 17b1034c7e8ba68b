import type { AdminData } from '../model/admin-data.js'
import type { Component } from '../component.js'
import type { Check } from './readiness.js'

/**
 * The pipeline behind the journal as the engine drives it: the Pipeline itself (inside the
 * pipeline thread, src/pipeline/actor.ts) and PipelineThread, which runs it there for the engine.
 */
export interface PipelineRunner extends Component {
  /** Resolves once the broker, database, workers and consumer all run (tests and tools). */
  ready(): Promise<void>
  /** Latency hint: the journal committed new entries. */
  notify(): void
  /** Ingest keeps the HTTP thread busy (true) or is calm again: see src/pipeline/pressure.ts. */
  ingestPressure(busy: boolean): void
  /** The admin API's access to Postgres (which the pipeline owns). */
  readonly admin: AdminData
  /** The /readyz checks of the broker and the database. */
  readiness(): Promise<Record<string, Check>>
}
