import type pg from 'pg'
import { dueBacklog } from '../db/deliveries.js'
import { outboundBacklog } from '../db/outbound-backlog.js'
import {
  deliveriesDue,
  deliveriesInFlight,
  deliveriesPending,
  oldestDueSeconds,
  oldestPendingSeconds,
  subscriptionsByState,
} from './metrics.js'

/**
 * Refreshes the backlog gauges on an interval (a count over the due index, then the pending
 * deliveries and the subscriptions by state) rather than at scrape time, so a scrape never waits
 * on the database. GET /v1/status reads the same gauges. A failed count keeps the last values.
 */
export class BacklogGauges {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> = Promise.resolve()

  constructor(
    private readonly pool: pg.Pool,
    private readonly intervalMs: number,
    private readonly inFlight: () => number,
  ) {}

  start(): void {
    this.running = this.refresh()
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.refresh())
    }, this.intervalMs)
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.running
  }

  private async refresh(): Promise<void> {
    deliveriesInFlight.set(this.inFlight())
    try {
      const { due, oldestSeconds } = await dueBacklog(this.pool)
      deliveriesDue.set(due)
      oldestDueSeconds.set(oldestSeconds)
      // One after the other: the claims share this pool's few connections.
      const b = await outboundBacklog(this.pool)
      deliveriesPending.set(b.pending)
      oldestPendingSeconds.set(b.oldestPendingSeconds)
      for (const [state, n] of Object.entries(b.subscriptions))
        subscriptionsByState.set({ state }, n)
    } catch {
      // The database is away: the claim loop logs that; the gauges keep their last value.
    }
  }
}
