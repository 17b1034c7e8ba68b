import type { ActorApi } from '../actors/thread-host.js'
import type { ThreadMetrics } from '../metrics.js'
import type { DispatcherHealth } from './health.js'
import type { LaneView } from './lanes.js'

/** What the dispatcher thread (src/dispatcher/actor.ts) serves the pipeline thread. */
export interface DispatcherActorApi extends ActorApi {
  /** New deliveries were stored (a hint: NOTIFY and the poll also wake it). */
  wake(): void
  metrics(): Promise<ThreadMetrics> | ThreadMetrics
  lanes(): LaneView[]
  health(): Promise<DispatcherHealth> | DispatcherHealth
  close(): Promise<void>
}

/** What the pipeline thread (src/dispatcher/thread.ts) serves the dispatcher thread. */
export interface DispatcherHostApi {
  /** The pipeline's ordering watermark (src/pipeline/watermark.ts). */
  watermark(): Promise<number>
}
