import type pg from 'pg'
import type { DispatcherHealth } from '../dispatcher/health.js'
import { idleDispatcherMetrics } from '../dispatcher/idle-metrics.js'
import type { LaneView } from '../dispatcher/lanes.js'
import { outboundCounts, type OutboundCounts } from '../dispatcher/outbound-counts.js'
import type { DispatcherThread } from '../dispatcher/thread.js'
import type { HandedDeliveries } from '../dispatcher/first-leases.js'
import type { Logger } from '../log.js'
import type { ThreadMetrics } from '../metrics.js'

/**
 * How long after one look for a subscription made elsewhere (CLI, another node) a node without a
 * dispatcher looks again: a subscription change is in effect on every node within a second
 * (CONTRACT.md, Outbound delivery).
 */
export const IDLE_CHECK_MS = 1000

/** /readyz while no subscription exists: nothing to deliver, so nothing is wrong. */
export const idleHealth = (): DispatcherHealth => ({
  ok: true,
  state: 'idle',
  listening: null,
  since: null,
  lastError: null,
  detail: 'idle: no subscriptions',
})

// Every status but 'deleted' counts, disabled too: the thread reports disabled subscriptions,
// and one can be enabled again. One probe of the partial index subscriptions_live (0013).
const SOME_SUBSCRIPTION =
  "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE status <> 'deleted') AS any"

/**
 * The dispatcher thread: with the engine (SLUICE_DISPATCHER_START=eager, the default with an
 * external Postgres), or (`on-demand`, the default on the embedded one) only once a subscription
 * exists: an engine that only ingests (the edge case) does not keep an idle thread, its V8 heap
 * and its pool. The thread scans Postgres for due deliveries when it starts, so what was stored
 * before it ran is delivered. It starts at once when this node's admin API made a subscription
 * (`subscribed`), and otherwise at a check `checkMs` after the previous one ended (a subscription
 * made through another node or the CLI). Stored events do not check: without a subscription they
 * make no deliveries, and the thread's first scan finds those made after one appeared elsewhere.
 * Once started it runs until the pipeline closes.
 */
export class DispatcherOnDemand {
  private thread: DispatcherThread | null = null
  private checking: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private closed = false
  /** A check found no subscription (and none since failed to say otherwise). */
  private knownIdle = false

  constructor(
    private readonly pool: pg.Pool,
    private readonly make: () => DispatcherThread,
    private readonly logger: Logger,
    /** `eager`: start the thread at once (SLUICE_DISPATCHER_START=eager). */
    private readonly checkMs: number | 'eager' = IDLE_CHECK_MS,
  ) {}

  /** Start the thread now if eager or a subscription exists, else look again every `checkMs`. */
  async start(): Promise<void> {
    if (this.checkMs === 'eager') return this.startThread('dispatcher thread started')
    await this.ensure()
    if (this.thread || this.closed) return
    this.logger.info('no subscriptions: the dispatcher thread starts with the first one')
    this.schedule()
  }

  /** A subscription exists now (this node just made it): start the thread without asking. */
  subscribed(): void {
    this.startThread()
  }

  /** Starts the thread if a subscription exists; one check at a time, errors left to the next. */
  private ensure(): Promise<void> {
    if (this.thread || this.closed) return Promise.resolve()
    this.checking ??= this.check().finally(() => (this.checking = null))
    return this.checking
  }

  /** The next check `checkMs` after this one ended, so that checks never overlap or pile up. */
  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.ensure().then(() => {
        if (!this.thread && !this.closed) this.schedule()
      })
    }, this.checkMs as number)
    this.timer.unref()
  }

  private async check(): Promise<void> {
    try {
      const { rows } = await this.pool.query<{ any: boolean }>(SOME_SUBSCRIPTION)
      if (rows[0]?.any !== true) {
        this.knownIdle = true
        return
      }
    } catch (err) {
      this.logger.debug({ err }, 'cannot look for subscriptions yet')
      return
    }
    this.startThread()
  }

  private startThread(why = 'a subscription exists: dispatcher thread started'): void {
    if (this.thread || this.closed) return
    if (this.timer) clearTimeout(this.timer)
    this.thread = this.make()
    this.thread.start()
    this.logger.info(why)
  }

  /** New deliveries were stored on this node: wake the thread if it runs. */
  wake(): void {
    this.thread?.wake()
  }

  /** Deliveries the store statement leased to the thread's offer. */
  hand(handed: HandedDeliveries): void {
    this.thread?.hand(handed)
  }

  health(): Promise<DispatcherHealth> {
    return this.thread ? this.thread.health() : Promise.resolve(idleHealth())
  }

  /** The thread's metrics; while idle, their values with no subscription (none before a check). */
  async metrics(): Promise<ThreadMetrics[]> {
    if (this.thread) return this.thread.metrics()
    return this.knownIdle ? [await idleDispatcherMetrics()] : []
  }

  lanes(): Promise<LaneView[]> {
    return this.thread ? this.thread.lanes() : Promise.resolve([])
  }

  /** GET /v1/status's outbound counts, read from the same metrics as /metrics. */
  async outbound(): Promise<OutboundCounts> {
    if (this.thread) return this.thread.outbound()
    return outboundCounts((await this.metrics())[0])
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    await this.checking
    await this.thread?.close()
  }
}
