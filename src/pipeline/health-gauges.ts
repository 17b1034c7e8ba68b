import type pg from 'pg'
import { deadLetters, reportPipelineHealthFrom } from '../alert-metrics.js'
import { countDeadLetters } from '../db/dead-letters.js'
import type { Logger } from '../log.js'

/** What the gauges read from the pipeline. */
export interface HealthView {
  /** The broker is connected and no permanent error stops publishing. */
  brokerUp(): boolean
  /** The database side runs: migrated, no permanent error, the consumer not finding it down. */
  databaseRunning(): boolean
  /** The pipeline's pool once the database side is up (migrations done), else null. */
  pool(): pg.Pool | null
}

export interface HealthGaugesOptions {
  /** Between two counts of the dead letters (also a check the database answers). @defaultValue 15000 */
  intervalMs?: number
  /** A count taking longer means the database is not answering. @defaultValue 5000 */
  timeoutMs?: number
}

/**
 * Sets sluice_broker_up, sluice_database_up and sluice_dead_letters in the pipeline thread. The
 * dead letters are counted every `intervalMs`; that query doubles as the database check an
 * idle engine otherwise lacks (the consumer only notices an outage when a batch fails).
 */
export class HealthGauges {
  private readonly intervalMs: number
  private readonly timeoutMs: number
  private timer: NodeJS.Timeout | null = null
  private closed = false
  /** The last count answered in time; true until one did not. */
  private answering = true
  /** A count still running (a hung connection): no second one is started beside it. */
  private inFlight = false

  constructor(
    private readonly view: HealthView,
    private readonly logger: Logger,
    options: HealthGaugesOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 15_000
    this.timeoutMs = options.timeoutMs ?? 5_000
  }

  start(): void {
    reportPipelineHealthFrom(() => ({
      broker: this.view.brokerUp(),
      database: this.view.databaseRunning() && this.answering,
    }))
    this.schedule(0)
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    reportPipelineHealthFrom(null)
  }

  private schedule(ms: number): void {
    if (this.closed) return
    this.timer = setTimeout(() => void this.tick(), ms)
    this.timer.unref()
  }

  private async tick(): Promise<void> {
    const pool = this.view.pool()
    // Before the database side is up there is nothing to count yet: look again soon.
    if (!pool) return this.schedule(Math.min(1000, this.intervalMs))
    if (!this.inFlight) {
      this.inFlight = true
      const count = countDeadLetters(pool).finally(() => (this.inFlight = false))
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer in ${this.timeoutMs} ms`)),
          this.timeoutMs,
        )
        timer.unref()
      })
      try {
        deadLetters.set(await Promise.race([count, late]))
        this.answering = true
      } catch (err) {
        if (this.answering) this.logger.debug({ err }, 'counting dead letters failed')
        this.answering = false
      } finally {
        clearTimeout(timer)
        count.catch(() => undefined)
      }
    }
    this.schedule(this.intervalMs)
  }
}
