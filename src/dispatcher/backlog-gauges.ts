import type pg from 'pg'
import { dueBacklog } from '../db/deliveries.js'
import { deliveriesDue, deliveriesInFlight, oldestDueSeconds } from './metrics.js'

/**
 * Refreshes the due-backlog gauges on an interval (one count over the due index) rather than
 * at scrape time, so a scrape never waits on the database. A failed count keeps the last value.
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
    } catch {
      // The database is away: the claim loop logs that; the gauges keep their last value.
    }
  }
}
