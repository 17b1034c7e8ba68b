import type pg from 'pg'
import type { Logger } from '../log.js'
import { deleteCompletedDeliveries } from './delivery-retention.js'
import { serialize } from './local-lock.js'
import {
  addDays,
  ATTEMPTS,
  dropAttemptPartitionsBefore,
  dropPartitionsBefore,
  ensurePartition,
  partitionName,
  utcDay,
} from './partitions.js'

export interface MaintenanceOptions {
  /** Pool of the database to maintain. */
  pool: pg.Pool
  /** Days of events kept; partitions entirely older are dropped. @defaultValue 30 */
  retentionDays?: number
  /** Time between runs, in ms. @defaultValue 3_600_000 (one hour) */
  intervalMs?: number
  /** Daily partitions created before today (late events). @defaultValue 1 */
  daysBehind?: number
  /** Daily partitions created after today. @defaultValue 3 */
  daysAhead?: number
  logger?: Logger
}

const defaults = Object.freeze({
  retentionDays: 30,
  intervalMs: 3_600_000,
  daysBehind: 1,
  daysAhead: 3,
})

export interface MaintenanceRun {
  /** False when another node held the maintenance lock, so this run did nothing. */
  ran: boolean
  created: string[]
  dropped: string[]
  /** The attempt log's partitions (same days, same retention); present when any changed. */
  attempts?: { created: string[]; dropped: string[] }
  /** Completed deliveries deleted for being past retention. */
  deliveriesDeleted: number
}

/** Advisory lock key ("sluice:maintenance"); only its holder creates or drops partitions. */
export const MAINTENANCE_LOCK_KEY = 5_317_911_002

/**
 * Creates daily partitions ahead of time and drops those past retention, on an interval, and
 * deletes the deliveries completed before the same cutoff.
 * Every node may run one: pg_try_advisory_lock lets exactly one of them work at a time, the
 * others skip that round. Errors are logged, never thrown from the timer.
 */
export class Maintenance {
  private readonly opts: Required<Omit<MaintenanceOptions, 'logger'>> & { logger?: Logger }
  private timer: NodeJS.Timeout | null = null
  private running: Promise<unknown> = Promise.resolve()
  private closing: Promise<void> | null = null

  constructor(options: MaintenanceOptions) {
    const o = { ...defaults, ...options }
    if (!o.pool) throw new TypeError('options.pool must be a pg.Pool')
    for (const k of ['retentionDays', 'intervalMs'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1)
        throw new TypeError(`options.${k} must be a positive integer`)
    }
    for (const k of ['daysBehind', 'daysAhead'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 0)
        throw new TypeError(`options.${k} must be a non-negative integer`)
    }
    this.opts = o
  }

  /** Run once now (so today's partitions exist before the first insert), then on the interval. */
  async start(): Promise<MaintenanceRun> {
    const first = await this.runOnce()
    this.schedule()
    return first
  }

  private schedule(): void {
    if (this.closing) return
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.opts.logger?.error({ err }, 'maintenance run failed'))
        .finally(() => this.schedule())
    }, this.opts.intervalMs)
    this.timer.unref()
  }

  /** One maintenance round at time `now` (injectable for tests). */
  runOnce(now: Date = new Date()): Promise<MaintenanceRun> {
    return serialize('maintenance', () => this.runLocked(now))
  }

  private async runLocked(now: Date): Promise<MaintenanceRun> {
    const client = await this.opts.pool.connect()
    let broken: Error | undefined
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS locked',
        [MAINTENANCE_LOCK_KEY],
      )
      if (!rows[0]?.locked) return { ran: false, created: [], dropped: [], deliveriesDeleted: 0 }
      try {
        const today = utcDay(now)
        const created: string[] = []
        for (let d = -this.opts.daysBehind; d <= this.opts.daysAhead; d++) {
          const day = addDays(today, d)
          if (await ensurePartition(client, day)) created.push(partitionName(day))
        }
        const cutoff = addDays(today, -this.opts.retentionDays)
        const dropped = await dropPartitionsBefore(client, cutoff)
        const attempts = await this.maintainAttempts(client, today, cutoff)
        const deliveriesDeleted = await deleteCompletedDeliveries(client, cutoff)
        if (created.length || dropped.length || attempts || deliveriesDeleted)
          this.opts.logger?.info(
            { created, dropped, attempts, deliveriesDeleted },
            'partitions maintained',
          )
        return { ran: true, created, dropped, deliveriesDeleted, ...(attempts ? { attempts } : {}) }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MAINTENANCE_LOCK_KEY])
      }
    } catch (err) {
      broken = err as Error
      throw err
    } finally {
      client.release(broken)
    }
  }

  /** delivery_attempts gets the same daily partitions and leaves after the same days. */
  private async maintainAttempts(client: pg.PoolClient, today: Date, cutoff: Date) {
    const created: string[] = []
    for (let d = -this.opts.daysBehind; d <= this.opts.daysAhead; d++) {
      const day = addDays(today, d)
      if (await ensurePartition(client, day, ATTEMPTS)) created.push(partitionName(day, ATTEMPTS))
    }
    const dropped = await dropAttemptPartitionsBefore(client, cutoff)
    return created.length || dropped.length ? { created, dropped } : undefined
  }

  /** Stop the interval and wait for a run in progress. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearTimeout(this.timer)
      await this.running.catch(() => {})
    })()
    return this.closing
  }
}
