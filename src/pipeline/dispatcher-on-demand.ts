import type pg from 'pg'
import type { DispatcherHealth } from '../dispatcher/health.js'
import type { LaneView } from '../dispatcher/lanes.js'
import type { OutboundCounts } from '../dispatcher/outbound-counts.js'
import type { DispatcherThread } from '../dispatcher/thread.js'
import type { Logger } from '../log.js'
import type { ThreadMetrics } from '../metrics.js'

/** How often a node without a dispatcher looks for a subscription made elsewhere (CLI, another node). */
export const IDLE_CHECK_MS = 5000

/** /readyz while no subscription exists: nothing to deliver, so nothing is wrong. */
export const idleHealth = (): DispatcherHealth => ({
  ok: true,
  state: 'idle',
  listening: null,
  since: null,
  lastError: null,
  detail: 'idle: no subscriptions',
})

/** GET /v1/status's outbound counts while no subscription exists: all of them 0, not unknown. */
const idleCounts = (): OutboundCounts => ({
  delivered: 0,
  failedAttempts: 0,
  backlog: {
    pending: 0,
    oldestPendingSeconds: 0,
    subscriptions: { active: 0, failing: 0, paused: 0, disabled: 0 },
  },
})

const SOME_SUBSCRIPTION =
  "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE status <> 'deleted') AS any"

/**
 * The dispatcher thread, started only once a subscription exists: an engine that only ingests
 * (the edge case) does not keep an idle thread, its V8 heap and its pool. The thread scans
 * Postgres for due deliveries when it starts, so what was stored before it ran is delivered.
 * It starts at the first subscription made through this node's admin API (`ensure`) and at a
 * check every `checkMs` (a subscription made through another node). Stored events do not check:
 * without a subscription they make no deliveries, and the thread's first scan finds those made
 * after one appeared elsewhere. Once started it runs until the pipeline closes.
 */
export class DispatcherOnDemand {
  private thread: DispatcherThread | null = null
  private checking: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor(
    private readonly pool: pg.Pool,
    private readonly make: () => DispatcherThread,
    private readonly logger: Logger,
    private readonly checkMs = IDLE_CHECK_MS,
  ) {}

  /** Start the thread now if a subscription exists, else check again every `checkMs`. */
  async start(): Promise<void> {
    await this.ensure()
    if (this.thread || this.closed) return
    this.logger.info('no subscriptions: the dispatcher thread starts with the first one')
    this.timer = setInterval(() => void this.ensure(), this.checkMs)
    this.timer.unref()
  }

  /** Starts the thread if a subscription exists; one check at a time, errors left to the next. */
  ensure(): Promise<void> {
    if (this.thread || this.closed) return Promise.resolve()
    this.checking ??= this.check().finally(() => (this.checking = null))
    return this.checking
  }

  private async check(): Promise<void> {
    let any = false
    try {
      any = (await this.pool.query<{ any: boolean }>(SOME_SUBSCRIPTION)).rows[0]?.any === true
    } catch (err) {
      this.logger.debug({ err }, 'cannot look for subscriptions yet')
    }
    if (!any || this.thread || this.closed) return
    if (this.timer) clearInterval(this.timer)
    this.thread = this.make()
    this.thread.start()
    this.logger.info('a subscription exists: dispatcher thread started')
  }

  /** New deliveries were stored on this node: wake the thread if it runs. */
  wake(): void {
    this.thread?.wake()
  }

  health(): Promise<DispatcherHealth> {
    return this.thread ? this.thread.health() : Promise.resolve(idleHealth())
  }

  metrics(): Promise<ThreadMetrics[]> {
    return this.thread ? this.thread.metrics() : Promise.resolve([])
  }

  lanes(): Promise<LaneView[]> {
    return this.thread ? this.thread.lanes() : Promise.resolve([])
  }

  /** Without a thread nothing was delivered here, and with no subscription nothing is pending. */
  outbound(): Promise<OutboundCounts> {
    return this.thread ? this.thread.outbound() : Promise.resolve(idleCounts())
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    await this.checking
    await this.thread?.close()
  }
}
