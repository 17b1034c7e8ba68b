import type { ActorApi } from '../actors/thread-host.js'
import type { ThreadMetrics } from '../metrics.js'
import type { DispatcherHealth } from './health.js'
import type { LaneView } from './lanes.js'
import type { HandedDeliveries, LeaseOffer } from './first-leases.js'

/** What the dispatcher thread (src/dispatcher/actor.ts) serves the pipeline thread. */
export interface DispatcherActorApi extends ActorApi {
  /** New deliveries were stored (a hint: NOTIFY and the poll also wake it). */
  wake(): void
  /** Deliveries the store statement leased to this dispatcher's offer (cast). */
  hand(handed: HandedDeliveries): void
  metrics(): Promise<ThreadMetrics> | ThreadMetrics
  lanes(): LaneView[]
  health(): Promise<DispatcherHealth> | DispatcherHealth
  close(): Promise<void>
}

/** What the pipeline thread (src/dispatcher/thread.ts) serves the dispatcher thread. */
export interface DispatcherHostApi {
  /** The pipeline's ordering watermark (src/pipeline/watermark.ts). */
  watermark(): Promise<number>
  /** The dispatcher's lease offer for the store statement (cast); null withdraws it. */
  offer(offer: LeaseOffer | null): void
}
